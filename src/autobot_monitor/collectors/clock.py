"""The local time zone and kernel clock sources, exported like node_exporter 1.5's ``time``
collector (whose ``node_time_seconds`` our ``uptime`` collector already emits)."""

from __future__ import annotations

import glob
import os
import time

from ..model import MetricFamily, MetricSpec
from .base import Collector

_LABELS = ("device", "clocksource")


class TimeCollector(Collector):
    """Emits ``node_time_zone_offset_seconds`` (gauge, label ``time_zone``: the zone's
    abbreviation, ``UTC``, ``CET``...; value: seconds east of UTC now, from the C library's
    local time, like Go's ``time.Now().Zone()``), and per
    ``/sys/devices/system/clocksource/clocksourceN`` directory (``device``: its index in name
    order, as node_exporter numbers them) ``node_time_clocksource_available_info`` (one sample
    per name in ``available_clocksource``) and ``node_time_clocksource_current_info``
    (``current_clocksource``). A directory whose files cannot be read is skipped; no sysfs:
    only the zone. Never raises.
    """

    name = "time"
    isolate = False  # sysfs attributes computed in memory by the kernel: they never block
    SPECS = (
        MetricSpec("node_time_zone_offset_seconds", "gauge", "System time zone offset in seconds.",
                   "seconds", ("time_zone",)),
        MetricSpec("node_time_clocksource_available_info", "info",
                   "Available clocksources read from '/sys/devices/system/clocksource'.",
                   labels=_LABELS),
        MetricSpec("node_time_clocksource_current_info", "info",
                   "Current clocksource read from '/sys/devices/system/clocksource'.",
                   labels=_LABELS),
    )

    def collect(self) -> list[MetricFamily]:
        zone = self.SPECS[0].family()
        now = time.localtime(self.ctx.clock.time())
        zone.add(now.tm_gmtoff, {"time_zone": now.tm_zone})
        avail, current = self.SPECS[1].family(), self.SPECS[2].family()
        paths = sorted(glob.glob(os.path.join(glob.escape(self.ctx.sys("devices", "system",
                                                                       "clocksource")),
                                              "clocksource[0-9]*")))
        for i, path in enumerate(paths[:256]):
            names = self.files.read_bounded(os.path.join(path, "available_clocksource"), 4096)
            cur = self.files.read_bounded(os.path.join(path, "current_clocksource"), 4096)
            if names is None or cur is None or not cur.strip():
                continue
            labels = {"device": str(i)}
            for cs in dict.fromkeys(names.split()):
                avail.add(1, {**labels, "clocksource": cs})
            current.add(1, {**labels, "clocksource": cur.strip()})
        return [f for f in (zone, avail, current) if f.samples]
