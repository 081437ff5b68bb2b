"""Network interface counters from ``/proc/net/dev`` (and ``rx_nohandler`` from sysfs)."""

from __future__ import annotations

import re

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector, CounterDelta

# The 16 numeric fields of a /proc/net/dev line, in order, as node_exporter names them
# (its netdev collector's legacy names; the kernel already folds the detailed error counters
# into errs/drop/fifo/frame/carrier the way node_exporter's ``legacy()`` does for netlink).
FIELDS = (
    "receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo",
    "receive_frame", "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop", "transmit_fifo",
    "transmit_colls", "transmit_carrier", "transmit_compressed",
)
_COUNTERS = tuple((f"node_network_{f}_total", i) for i, f in enumerate(FIELDS))
#: not in /proc/net/dev: node_exporter reads it over netlink, we from sysfs statistics/.
NOHANDLER = "node_network_receive_nohandler_total"


def parse_line(line: str) -> tuple[str, list[int]] | None:
    """``"  eth0: 1 2 ..."`` -> ``("eth0", [16 ints])``; ``None`` for headers and garbage.

    The name is everything before the *last* colon (aliases such as ``eth0:1`` keep theirs; the
    counters never contain one), so a wide counter glued to the colon still parses.
    """
    head, sep, rest = line.rpartition(":")
    device = head.strip()
    fields = rest.split()
    if not sep or not device or len(fields) < 16:
        return None
    try:
        values = [int(f) for f in fields[:16]]
    except ValueError:
        return None
    if any(v < 0 for v in values):
        return None
    return device, values


class NetdevCollector(Collector):
    """Reads ``/proc/net/dev`` and exports node_exporter's ``node_network_<field>_total{device}``
    counters for all 16 fields (:data:`FIELDS`: bytes, packets, errs, drop, fifo, frame,
    compressed, multicast received; bytes, packets, errs, drop, fifo, colls, carrier, compressed
    transmitted), plus ``node_network_receive_nohandler_total`` from
    ``/sys/class/net/<device>/statistics/rx_nohandler`` (absent where that file is). Link state
    (``node_network_up``, ``node_network_info``...) is the ``netclass`` collector's.

    Derived gauges: ``autobot_network_{receive,transmit}_bytes_per_second{device}`` from counter
    deltas over the monotonic clock; absent for a new interface's first sample and for a counter
    that went down (driver reset, 32-bit wrap). State of vanished interfaces is forgotten.
    Option ``device_exclude``: regex of interface names to skip (default: none, ``lo`` included,
    as upstream node_exporter; Debian's package defaults to ``^lo$``).
    Raises :class:`CollectorError` only if ``/proc/net/dev`` is unreadable.
    """

    name = "netdev"
    isolate = False
    SPECS = (
        *(MetricSpec(name, "counter",
                     f"Network device statistic {name[len('node_network_'):-len('_total')]}.",
                     "bytes" if "_bytes_" in name else "", ("device",))
          for name, _ in (*_COUNTERS, (NOHANDLER, -1))),
        MetricSpec("autobot_network_receive_bytes_per_second", "gauge",
                   "Bytes received per second since the previous collection.",
                   "bytes_per_second", ("device",)),
        MetricSpec("autobot_network_transmit_bytes_per_second", "gauge",
                   "Bytes transmitted per second since the previous collection.",
                   "bytes_per_second", ("device",)),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        pattern = self.options.get("device_exclude")
        self._exclude = re.compile(pattern) if pattern else None
        self._delta = CounterDelta()

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("net", "dev")
        text = self.files.read(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        now = self.ctx.clock.monotonic()
        fams = {s.name: s.family() for s in self.SPECS}
        seen: set[str] = set()
        for line in text.splitlines():
            parsed = parse_line(line)
            if parsed is None:
                continue
            device, values = parsed
            if device in seen or (self._exclude and self._exclude.search(device)):
                continue
            seen.add(device)
            labels = {"device": device}
            for name, idx in _COUNTERS:
                fams[name].add(values[idx], labels)
            nohandler = self._nohandler(device)
            if nohandler is not None:
                fams[NOHANDLER].add(nohandler, labels)
            for direction, idx in (("receive", 0), ("transmit", 8)):
                rate = self._delta.update((device, direction), values[idx], now)
                if rate is not None:
                    fams[f"autobot_network_{direction}_bytes_per_second"].add(rate, labels)
        self._delta.retain((d, direction) for d in seen for direction in ("receive", "transmit"))
        return [f for f in fams.values() if f.samples]

    def _nohandler(self, device: str) -> int | None:
        if "/" in device or device in (".", ".."):
            return None
        value = self.files.read_int(self.ctx.sys("class", "net", device, "statistics", "rx_nohandler"))
        return value if value is not None and value >= 0 else None
