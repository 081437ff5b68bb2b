"""Build a report document (a JSON-ready dict) from a metric source and the data dir's files.

Shape (every figure that was not measured is ``None``, shown as "no data")::

    {"warning": "Low coverage: monitored 3 min of 24 h: 0.2 % ..." or None (first key),
     "report": {title, version, generated_at(_iso), period, previous_period, source,
                step_seconds, availability_step_seconds, coverage, thresholds},
     "availability": see availability.py, "trends": {step_seconds, method, hosts},
     "capacity": see resources.capacity, "bottlenecks": {method, items},
     "processes": {by_cpu, by_memory}, "alerts": see events.alerts_section,
     "optimizations": ..., "benchmarks": ...}

:func:`build_report` is blocking (store reads, numpy): run it in a worker thread from async code.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from .. import __version__
from ..model import json_safe
from .availability import availability
from .events import alerts_section, benchmarks_section, optimizations_section
from .period import NICE_STEPS, Period, iso, resolution
from .resources import bottlenecks, capacity, gather, processes, trends
from .source import DataFiles, MetricSource

AVAILABILITY_MAX_STEPS = 250_000


@dataclass
class Report:
    """``doc``: the JSON document; ``series``: per host, per trend resource, the step averages
    (for charts; not part of the JSON)."""

    doc: dict
    series: dict = field(default_factory=dict)


def availability_step(period: Period, interval: float | None) -> float:
    floor = max(interval or 1.0, period.length / AVAILABILITY_MAX_STEPS)
    return float(next((s for s in NICE_STEPS if s >= floor), math.ceil(floor)))


def build_report(source: MetricSource, files: DataFiles, period: Period, cfg, *,
                 interval: float | None = None, transitions: list[dict] | None = None,
                 source_name: str = "store", now: float | None = None) -> Report:
    """``cfg``: the hub's :class:`~..config.models.MonitorConfig` (thresholds, inventory names);
    ``interval``: the monitoring interval the history was recorded at (default the config's);
    ``transitions``: the alert engine's history when the caller has it live (else read from the
    data dir). Raises StoreError/QueryError from the source."""
    interval = interval or cfg.monitoring_interval
    step = resolution(period, interval)
    av_step = availability_step(period, interval)
    prev = period.previous()
    hosts = sorted({h.name for h in cfg.hosts} | ({cfg.local_host.name} if cfg.local_host.enabled
                                                  and cfg.local_host.name else set()))
    services = sorted(s.name for s in cfg.services)
    t = cfg.alert_thresholds
    data = gather(source, period.start, period.end, step, (prev.start, prev.end))
    trend_doc, series = trends(data, hosts)
    av = availability(source, period.start, period.end, av_step, services, hosts)
    if transitions is None:
        transitions = files.alert_transitions()
    now = time.time() if now is None else now
    cov = av["coverage"]
    doc = {
        "warning": (f"Low coverage: {cov['text']} (under {cov['threshold_percent']:g} %); every "
                    "figure describes the monitored time only" if cov["low"] else None),
        "report": {"title": "Performance report" + ("" if period.kind == "custom" else f": {period.kind}"),
                   "version": __version__,
                   "generated_at": now, "generated_at_iso": iso(now), "period": period.to_json(),
                   "previous_period": prev.to_json(), "source": source_name,
                   "step_seconds": step, "availability_step_seconds": av_step, "coverage": cov,
                   "thresholds": {"cpu_percent": t.cpu_percent, "memory_percent": t.memory_percent,
                                  "disk_percent": t.disk_percent,
                                  "api_response_time_seconds": t.api_response_time}},
        "availability": av,
        "trends": {"step_seconds": step,
                   "method": f"p50/p95/max/mean of {step:g}-second averages; change = p95 minus "
                             "the previous period's p95", "hosts": trend_doc},
        "capacity": capacity(data, t),
        "bottlenecks": {"method": f"seconds the {step:g}-second average was above the configured "
                                  "threshold (alert_thresholds); share = time above / time "
                                  "monitored",
                        "items": bottlenecks(data, t, step, period.length)},
        "processes": processes(data, step),
        "alerts": alerts_section(transitions, files.alerts_log(), period.start, period.end),
        "optimizations": optimizations_section(files.optimization_log(), period.start, period.end),
        "benchmarks": benchmarks_section(files.benchmark_runs(), period.start, period.end),
    }
    return Report(json_safe(doc), series)
