"""Per-CPU scheduler statistics from ``/proc/schedstat``, exported like node_exporter 1.5's
``schedstat`` collector."""

from __future__ import annotations

import re

from ..model import MetricFamily, MetricSpec
from .base import Collector

# prometheus/procfs's pattern: "cpuN" and at least nine integer columns
_CPU_LINE = re.compile(r"cpu(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)")


class SchedstatCollector(Collector):
    """Emits, per ``cpuN`` line of ``/proc/schedstat`` (label ``cpu`` = N), columns 7-9:
    ``node_schedstat_running_seconds_total`` (time tasks ran on the CPU),
    ``node_schedstat_waiting_seconds_total`` (time runnable tasks waited for it; both
    nanoseconds in the file, seconds here) and ``node_schedstat_timeslices_total``. A kernel
    without CONFIG_SCHEDSTATS has no file: nothing is emitted. A line that does not match is
    skipped. Never raises.
    """

    name = "schedstat"
    isolate = False
    SPECS = (
        MetricSpec("node_schedstat_running_seconds_total", "counter",
                   "Number of seconds CPU spent running a process.", "seconds", ("cpu",)),
        MetricSpec("node_schedstat_waiting_seconds_total", "counter",
                   "Number of seconds spent by processing waiting for this CPU.", "seconds",
                   ("cpu",)),
        MetricSpec("node_schedstat_timeslices_total", "counter",
                   "Number of timeslices executed by CPU.", "", ("cpu",)),
    )

    def collect(self) -> list[MetricFamily]:
        text = self.files.read_bounded(self.ctx.proc("schedstat"), 4 << 20)
        if text is None:
            return []
        fams = [s.family() for s in self.SPECS]
        seen: set[str] = set()
        for line in text.splitlines():
            m = _CPU_LINE.search(line)
            if m is None or m.group(1) in seen:
                continue
            seen.add(m.group(1))
            labels = {"cpu": m.group(1)}
            fams[0].add(int(m.group(8)) / 1e9, labels)
            fams[1].add(int(m.group(9)) / 1e9, labels)
            fams[2].add(int(m.group(10)), labels)
        return [f for f in fams if f.samples]
