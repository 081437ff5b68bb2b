"""Bytes queued on UDP sockets from ``/proc/net/udp`` and ``/proc/net/udp6``, exported like
node_exporter 1.5's ``udp_queues`` collector."""

from __future__ import annotations

from ..model import MetricFamily, MetricSpec
from .base import Collector
from .procutil import bounded_lines

#: Most socket lines read per file (~150 bytes each); a longer table emits nothing for it.
MAX_SOCKETS = 1_000_000


class UdpQueuesCollector(Collector):
    """Emits ``node_udp_queues`` (gauge, bytes; labels ``ip`` ``v4``/``v6`` and ``queue``
    ``tx``/``rx``): the ``tx_queue:rx_queue`` column (hex) summed over the sockets of
    ``/proc/net/udp`` (``v4``) and ``/proc/net/udp6`` (``v6``). A missing file emits nothing
    for its family; a line that does not parse (fewer than 10 columns, no ``tx:rx`` pair of hex
    numbers) is skipped; a file over :data:`MAX_SOCKETS` lines emits nothing for it (a partial
    sum is no figure). Never raises.
    """

    name = "udp_queues"
    isolate = False
    SPECS = (MetricSpec("node_udp_queues", "gauge",
                        "Number of allocated memory in the kernel for UDP datagrams in bytes.",
                        labels=("queue", "ip")),)

    def collect(self) -> list[MetricFamily]:
        fam = self.SPECS[0].family()
        for rel, ip in (("udp", "v4"), ("udp6", "v6")):
            sums = queue_sums(self.ctx.proc("net", rel))
            if sums is not None:
                fam.add(sums[0], {"queue": "tx", "ip": ip})
                fam.add(sums[1], {"queue": "rx", "ip": ip})
        return [fam] if fam.samples else []


def queue_sums(path: str) -> tuple[int, int] | None:
    """``(tx bytes, rx bytes)`` summed over the socket lines of ``path`` (first line: header),
    or ``None`` when it cannot be read or is too long."""
    lines = bounded_lines(path, MAX_SOCKETS + 1)
    if lines is None:
        return None
    tx = rx = 0
    try:
        for n, line in enumerate(lines):
            cols = line.split()
            if n == 0 or len(cols) < 10:
                continue
            t, sep, r = cols[4].partition(":")
            try:
                tq, rq = int(t, 16), int(r, 16)
            except ValueError:
                continue
            if sep and tq >= 0 and rq >= 0:
                tx, rx = tx + tq, rx + rq
    except (OverflowError, OSError):
        return None
    return tx, rx
