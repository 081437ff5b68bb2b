"""Boot time, current time and uptime (``/proc/stat`` btime, ``/proc/uptime``, the clock)."""

from __future__ import annotations

import math

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector


class UptimeCollector(Collector):
    """Emits ``node_boot_time_seconds`` (Unix seconds, the ``btime`` line of ``/proc/stat``),
    ``node_time_seconds`` (Unix seconds from ``ctx.clock.time()``) and ``autobot_uptime_seconds``
    (first field of ``/proc/uptime``: seconds since boot, suspend included).

    A missing or garbled source leaves its family out. Raises :class:`CollectorError` only when
    neither ``/proc/stat`` nor ``/proc/uptime`` can be read.
    """

    name = "uptime"
    isolate = False
    SPECS = (
        MetricSpec("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", "seconds"),
        MetricSpec("node_time_seconds", "gauge",
                   "System time in seconds since epoch (1970).", "seconds"),
        MetricSpec("autobot_uptime_seconds", "gauge", "Seconds since the host booted.", "seconds"),
    )

    def collect(self) -> list[MetricFamily]:
        stat = self.files.read(self.ctx.proc("stat"))
        uptime = self.files.read(self.ctx.proc("uptime"))
        if stat is None and uptime is None:
            raise CollectorError(f"cannot read {self.ctx.proc('stat')} nor {self.ctx.proc('uptime')}")
        out = []
        btime = _btime(stat) if stat is not None else None
        if btime is not None:
            fam = self.spec("node_boot_time_seconds").family()
            fam.add(btime)
            out.append(fam)
        now = self.spec("node_time_seconds").family()
        now.add(self.ctx.clock.time())
        out.append(now)
        up = _first_float(uptime) if uptime is not None else None
        if up is not None:
            fam = self.spec("autobot_uptime_seconds").family()
            fam.add(up)
            out.append(fam)
        return out


def _btime(text: str) -> int | None:
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "btime":
            try:
                return int(fields[1])
            except ValueError:
                return None
    return None


def _first_float(text: str) -> float | None:
    fields = text.split()
    if not fields:
        return None
    try:
        v = float(fields[0])
    except ValueError:
        return None
    return v if math.isfinite(v) and v >= 0 else None
