"""Network interface properties from ``/sys/class/net/<iface>/`` (node_exporter's netclass)."""

from __future__ import annotations

import os
import re

from ..model import MetricFamily, MetricSpec, MetricType
from .base import Collector, CollectorContext

#: Interfaces read per cycle at most (a container host can have thousands of veths).
MAX_INTERFACES = 4096

# (family suffix after node_network_, sysfs file, type). Values are integers in any base
# (``flags`` reads ``0x1003``), as procfs parses them (strconv.ParseInt(s, 0, 64)).
_FIELDS: tuple[tuple[str, str, MetricType], ...] = (
    ("address_assign_type", "addr_assign_type", "gauge"),
    ("carrier", "carrier", "gauge"),
    ("carrier_changes_total", "carrier_changes", "counter"),
    ("carrier_up_changes_total", "carrier_up_count", "counter"),
    ("carrier_down_changes_total", "carrier_down_count", "counter"),
    ("device_id", "dev_id", "gauge"),
    ("dormant", "dormant", "gauge"),
    ("flags", "flags", "gauge"),
    ("iface_id", "ifindex", "gauge"),
    ("iface_link", "iflink", "gauge"),
    ("iface_link_mode", "link_mode", "gauge"),
    ("mtu_bytes", "mtu", "gauge"),
    ("name_assign_type", "name_assign_type", "gauge"),
    ("net_dev_group", "netdev_group", "gauge"),
    ("transmit_queue_length", "tx_queue_len", "gauge"),
    ("protocol_type", "type", "gauge"),
)
#: node_network_info's labels besides ``device``, each the text of the sysfs file of that name
#: ("" when unreadable, as node_exporter has it).
INFO_LABELS = ("address", "broadcast", "duplex", "operstate", "ifalias")


def parse_int(text: str | None) -> int | None:
    """``"0x1003\\n"`` -> 4099, ``"1500"`` -> 1500; ``None`` for unreadable or non-integer text."""
    if text is None:
        return None
    try:
        return int(text.strip(), 0)
    except ValueError:
        return None


class NetclassCollector(Collector):
    """For each entry of ``/sys/class/net`` (regular files such as ``bonding_masters`` skipped):

    * ``node_network_up{device}``: 1 when ``operstate`` reads ``up``, else 0 (an entry whose
      ``operstate`` cannot be read, one that vanished mid-read, is skipped whole);
    * ``node_network_info{device,address,broadcast,duplex,operstate,ifalias}`` = 1;
    * one ``node_network_<property>{device}`` per :data:`_FIELDS` entry whose file reads an
      integer (a down link's ``carrier`` or ``speed`` fails with EINVAL: absent), in the sysfs
      file's unit (``mtu_bytes`` bytes), the ``*_changes_total`` ones counters;
    * ``node_network_speed_bytes{device}``: ``speed`` (Mbit/s) * 125000, bytes per second;
      absent where the driver reports -1 (unknown), where node_exporter 1.5 writes -125000
      unless ``--collector.netclass.ignore-invalid-speed``.

    Option ``device_exclude`` (node_exporter's ``ignored-devices``): regex of names to skip
    (default none). At most :data:`MAX_INTERFACES` interfaces per cycle. Emits nothing (and does
    not fail) when ``/sys/class/net`` is missing.
    """

    name = "netclass"
    SPECS = (
        MetricSpec("node_network_up", "gauge",
                   "Value is 1 if operstate is 'up', 0 otherwise.", "", ("device",)),
        MetricSpec("node_network_info", "info",
                   "Non-numeric data from /sys/class/net/<iface>, value is always 1.", "",
                   ("device", *INFO_LABELS)),
        *(MetricSpec(f"node_network_{suffix}", typ, f"Network device property: {suffix}",
                     "bytes" if suffix == "mtu_bytes" else "", ("device",))
          for suffix, _, typ in _FIELDS),
        MetricSpec("node_network_speed_bytes", "gauge", "Network device property: speed_bytes",
                   "bytes", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        super().__init__(ctx)
        pattern = self.options.get("device_exclude")
        self._exclude = re.compile(pattern) if pattern else None

    def devices(self) -> list[str]:
        """Names under ``/sys/class/net`` that are not regular files, sorted; [] when missing."""
        try:
            with os.scandir(self.ctx.sys("class", "net")) as it:
                names: list[str] = []
                for entry in it:
                    if len(names) >= MAX_INTERFACES:
                        break
                    try:
                        if entry.is_file(follow_symlinks=False):
                            continue
                    except OSError:
                        continue
                    if not (self._exclude and self._exclude.search(entry.name)):
                        names.append(entry.name)
        except OSError:
            return []
        return sorted(names)

    def collect(self) -> list[MetricFamily]:
        fams = {s.name: s.family() for s in self.SPECS}
        devices = self.devices()
        for device in devices:
            self._interface(device, fams)
        self.files.retain_under([self.ctx.sys("class", "net", d) for d in devices])
        return [f for f in fams.values() if f.samples]

    def _interface(self, device: str, fams: dict[str, MetricFamily]) -> None:
        base = self.ctx.sys("class", "net", device)
        labels = {"device": device}
        if self.files.read(os.path.join(base, "operstate")) is None:
            return  # every netdev has one: the interface vanished (or is no netdev)
        text = {n: (self.files.read(os.path.join(base, n)) or "").strip() for n in INFO_LABELS}
        fams["node_network_up"].add(1 if text["operstate"] == "up" else 0, labels)
        fams["node_network_info"].add(1, {**labels, **text})
        for suffix, filename, _ in _FIELDS:
            value = parse_int(self.files.read(os.path.join(base, filename)))
            if value is not None:
                fams[f"node_network_{suffix}"].add(value, labels)
        speed = parse_int(self.files.read(os.path.join(base, "speed")))
        if speed is not None and speed >= 0:
            fams["node_network_speed_bytes"].add(speed * 1000 * 1000 // 8, labels)
