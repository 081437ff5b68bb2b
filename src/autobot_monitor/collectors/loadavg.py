"""System load averages from ``/proc/loadavg``."""

from __future__ import annotations

import math

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector


class LoadavgCollector(Collector):
    """Reads ``/proc/loadavg`` (``"0.07 0.23 0.12 1/141 8329"``): the 1, 5 and 15 minute load
    averages (runnable plus uninterruptible tasks, unitless) as ``node_load1``, ``node_load5``
    and ``node_load15`` gauges, like node_exporter. A field that does not parse as a finite
    non-negative number is left out. Raises :class:`CollectorError` only if the file is unreadable.
    """

    name = "loadavg"
    isolate = False
    SPECS = (
        MetricSpec("node_load1", "gauge", "1m load average."),
        MetricSpec("node_load5", "gauge", "5m load average."),
        MetricSpec("node_load15", "gauge", "15m load average."),
    )

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("loadavg")
        text = self.files.read(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        fields = text.split()
        out = []
        for spec, raw in zip(self.SPECS, fields[:3], strict=False):
            try:
                v = float(raw)
            except ValueError:
                continue
            if not math.isfinite(v) or v < 0:
                continue
            fam = spec.family()
            fam.add(v)
            out.append(fam)
        return out
