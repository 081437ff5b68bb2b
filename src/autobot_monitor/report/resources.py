"""Sections 2-4: trends per host, capacity forecasts, bottlenecks and top processes.

Every figure is computed from step averages (``fn=avg`` at the report's ``step``, see
:func:`~.period.resolution`): at the monitoring interval (day reports) these are the raw
samples; for longer periods they are the averages of ``step`` seconds.

* **Trends**: p50/p95/max/mean of the step averages per host (percentiles: linear interpolation
  between closest ranks, numpy ``linear``); a host's disk figure is its fullest filesystem per
  step, network the sum over its interfaces (``lo`` excluded), GPU the mean over its GPUs. The
  change is ``p95 - previous p95`` (the period of the same length just before). Metrics,
  label filters, how a host's series combine and units are the declared figures'
  (:mod:`~..figures`, those with a ``report`` key), as the dashboard and ``status`` show them.
* **Capacity**: a Theil–Sen line (median of pairwise slopes, :func:`~..alerts.functions.theil_sen`)
  through the period's step averages of each filesystem's ``autobot_filesystem_used_percent``
  and each host's ``autobot_memory_used_percent``; time to full = when the line reaches 100 %,
  threshold date = when it reaches the configured ``alert_thresholds`` percentage.
* **Bottlenecks**: seconds the step average spent above its threshold (CPU, memory,
  each filesystem, each service's response time), most first; its share is of the time that
  was monitored (steps with a value), shown with that time's coverage of the period.
* **Processes**: ``autobot_process_cpu_percent`` and ``autobot_process_resident_memory_bytes``
  grouped by host and process name (pids change); CPU is ranked by core-seconds (sum of step
  average / 100 x step over the steps the process was in the collector's top list), memory by
  mean resident bytes while listed.
"""

from __future__ import annotations

import math

import numpy as np

from ..alerts.functions import theil_sen, time_to_threshold
from ..figures import figure, report_figures
from .source import MetricSource, fetch

TRENDS = tuple((f.report, f.metrics[0], f.matchers, f.agg, f.unit) for f in report_figures("host"))
"""``(key, metric, matchers, how a host's series combine, unit)`` per trend, from the declared
figures: CPU, memory, fullest filesystem, network receive/transmit, GPU utilisation."""
HOW = {key: how for key, _m, _match, how, _unit in TRENDS}
"""How a host's series of each trend combine (its figure's ``agg``)."""
SERVICE_RESPONSE, PROCESS_CPU, PROCESS_MEMORY = (
    figure("response_time_seconds"), figure("process_cpu_percent"),
    figure("process_resident_memory_bytes"))
TOP_PROCESSES = 10
TOP_BOTTLENECKS = 15


def per_host(series: dict[tuple, list], how: str) -> dict[str, list[tuple[float, float]]]:
    """Series keyed by label tuples -> one combined series per ``host`` label (max, sum or mean
    of the values at each step)."""
    acc: dict[str, dict[float, list[float]]] = {}
    for key, pts in series.items():
        host = dict(key).get("host")
        if not host:
            continue
        by_t = acc.setdefault(host, {})
        for t, v in pts:
            if math.isfinite(v):
                by_t.setdefault(t, []).append(v)
    f = {"max": max, "sum": sum, "mean": lambda xs: sum(xs) / len(xs)}[how]
    return {h: [(t, f(vs)) for t, vs in sorted(by_t.items())] for h, by_t in acc.items()}


def stats(pts: list[tuple[float, float]]) -> dict:
    """``{p50, p95, max, mean, steps}`` of the values; all None (steps 0) without data."""
    if not pts:
        return {"p50": None, "p95": None, "max": None, "mean": None, "steps": 0}
    v = np.array([p[1] for p in pts], dtype=float)
    return {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)),
            "max": float(v.max()), "mean": float(v.mean()), "steps": int(v.size)}


def gather(source: MetricSource, start: float, end: float, step: float, prev: tuple[float, float]) -> dict:
    """Every series the resource sections need, as step averages: ``{key: {"cur": series,
    "prev": {host: stats}}}`` (the previous period only as per-host figures, to bound memory)
    plus the service response time and process figures under their ``report`` keys (current
    period only)."""
    d: dict = {}
    for key, metric, match, how, _unit in TRENDS:
        old = per_host(fetch(source, metric, match, prev[0], prev[1], step, "avg"), how)
        d[key] = {"cur": fetch(source, metric, match, start, end, step, "avg"),
                  "prev": {h: stats(pts) for h, pts in old.items()}}
    for f in (SERVICE_RESPONSE, PROCESS_CPU, PROCESS_MEMORY):
        d[f.report] = fetch(source, f.metrics[0], f.matchers, start, end, step, "avg")
    return d


def trends(data: dict, hosts: list[str]) -> tuple[dict, dict]:
    """``({host: {resource: {p50, p95, max, mean, steps, unit, previous, change_p95}}},
    {host: {resource: series}})``; the second is for the charts."""
    out: dict[str, dict] = {h: {} for h in hosts}
    charts: dict[str, dict] = {h: {} for h in hosts}
    for key, _metric, _match, how, unit in TRENDS:
        cur, prev = per_host(data[key]["cur"], how), data[key]["prev"]
        for h in set(cur) | set(prev) | set(hosts):
            if key == "gpu_utilization_percent" and h not in cur and h not in prev:
                continue  # no GPU on this host: nothing to say
            s, p = stats(cur.get(h, [])), prev.get(h) or stats([])
            change = s["p95"] - p["p95"] if s["p95"] is not None and p["p95"] is not None else None
            out.setdefault(h, {})[key] = {**s, "unit": unit, "previous": p, "change_p95": change}
            charts.setdefault(h, {})[key] = cur.get(h, [])
    return dict(sorted(out.items())), charts


MIN_FORECAST_SPAN = 3600.0  # seconds of history a forecast needs at least


def forecast(pts: list[tuple[float, float]], threshold: float) -> dict:
    """Theil–Sen forecast of one percent series: ``{now_percent, slope_percent_per_day,
    time_to_full_seconds, full_at, time_to_threshold_seconds, threshold_at, threshold_percent,
    status}``. status: ``no data`` (fewer than 3 steps), ``too little history`` (less than
    :data:`MIN_FORECAST_SPAN`), ``above threshold``, ``not growing``, ``growing``."""
    base = {"threshold_percent": threshold, "now_percent": None, "slope_percent_per_day": None,
            "time_to_full_seconds": None, "full_at": None, "time_to_threshold_seconds": None,
            "threshold_at": None, "steps": len(pts)}
    fit = theil_sen(pts)
    if fit is None:
        return {**base, "status": "no data"}
    if pts[-1][0] - pts[0][0] < MIN_FORECAST_SPAN:
        return {**base, "status": "too little history"}  # a few minutes do not make a trend
    slope, intercept = fit
    last_t = pts[-1][0]
    now_v = intercept + slope * (last_t - pts[0][0])
    doc = {**base, "now_percent": now_v, "slope_percent_per_day": slope * 86400}
    full = time_to_threshold(pts, 100.0)
    thr = time_to_threshold(pts, threshold)
    doc.update(time_to_full_seconds=full, full_at=None if full is None else last_t + full,
               time_to_threshold_seconds=thr, threshold_at=None if thr is None else last_t + thr)
    if now_v >= threshold:
        doc["status"] = "above threshold"
    elif slope <= 0:
        doc["status"] = "not growing"
    else:
        doc["status"] = "growing"
    return doc


def capacity(data: dict, thresholds) -> dict:
    """Filesystems and memory with forecasts (see :func:`forecast`)."""
    fs = []
    for key, pts in sorted(data["disk_used_percent"]["cur"].items()):
        lab = dict(key)
        if "host" not in lab:
            continue
        fs.append({"host": lab["host"], "mountpoint": lab.get("mountpoint"), "device": lab.get("device"),
                   **forecast(pts, thresholds.disk_percent)})
    mem = [{"host": h, **forecast(pts, thresholds.memory_percent)}
           for h, pts in sorted(per_host(data["memory_percent"]["cur"], HOW["memory_percent"]).items())]
    return {"method": "Theil–Sen line (median of pairwise slopes over at most 200 evenly spaced "
                      "step averages of the period), extrapolated from the newest step",
            "filesystems": fs, "memory": mem}


def effective_step(pts: list[tuple[float, float]], step: float) -> float:
    """The larger of ``step`` and the median spacing of ``pts``: what one point stands for when
    the history was recorded at a longer interval than the step it is read at."""
    if len(pts) < 2:
        return step
    d = sorted(b[0] - a[0] for a, b in zip(pts, pts[1:], strict=False))
    return max(step, d[len(d) // 2])


def _above(pts: list[tuple[float, float]], threshold: float, step: float) -> tuple[float, float]:
    """(seconds above ``threshold``, seconds monitored): each step with a value stands for
    :func:`effective_step` seconds."""
    w = effective_step(pts, step)
    return w * sum(1 for _, v in pts if v > threshold), w * len(pts)


def bottlenecks(data: dict, thresholds, step: float, length: float) -> list[dict]:
    """Resources whose step average was above its threshold, most seconds first (at most
    :data:`TOP_BOTTLENECKS`); each ``{resource, host, target, threshold, seconds_above,
    share_percent, monitored_seconds, coverage_percent, peak}``: the share is of the monitored
    time (steps with a value), the coverage that time's share of the period ``length``."""
    rows = []

    def add(resource, host, target, pts, thr):
        secs, mon = _above(pts, thr, step)
        mon = min(mon, length)
        if secs > 0:
            rows.append({"resource": resource, "host": host, "target": target, "threshold": thr,
                         "seconds_above": min(secs, mon), "share_percent": 100.0 * min(secs, mon) / mon,
                         "monitored_seconds": mon, "coverage_percent": 100.0 * mon / length,
                         "peak": max(v for _, v in pts)})

    for h, pts in per_host(data["cpu_percent"]["cur"], HOW["cpu_percent"]).items():
        add("cpu_percent", h, None, pts, thresholds.cpu_percent)
    for h, pts in per_host(data["memory_percent"]["cur"], HOW["memory_percent"]).items():
        add("memory_percent", h, None, pts, thresholds.memory_percent)
    for key, pts in data["disk_used_percent"]["cur"].items():
        lab = dict(key)
        add("disk_used_percent", lab.get("host"), lab.get("mountpoint"), pts, thresholds.disk_percent)
    for key, pts in data[SERVICE_RESPONSE.report].items():
        lab = dict(key)
        add("response_time_seconds", lab.get("host"), lab.get("service"), pts, thresholds.api_response_time)
    rows.sort(key=lambda r: (-r["seconds_above"], r["resource"], r["host"] or "", r["target"] or ""))
    return rows[:TOP_BOTTLENECKS]


def processes(data: dict, step: float) -> dict:
    """Top processes by CPU (core-seconds) and by mean resident memory over the period."""
    def group(series):
        """(host, name) -> [(value, seconds it stands for)] over all pids of that name."""
        acc: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for key, pts in series.items():
            lab = dict(key)
            w = effective_step(pts, step)
            acc.setdefault((lab.get("host", ""), lab.get("name", "")), []).extend(
                (v, w) for _, v in pts if math.isfinite(v))
        return acc

    cpu = []
    for (h, n), vw in group(data[PROCESS_CPU.report]).items():
        if vw:
            cpu.append({"host": h, "name": n, "core_seconds": sum(v * w for v, w in vw) / 100.0,
                        "mean_percent": sum(v for v, _ in vw) / len(vw), "max_percent": max(v for v, _ in vw),
                        "seconds_listed": sum(w for _, w in vw)})
    mem = []
    for (h, n), vw in group(data[PROCESS_MEMORY.report]).items():
        if vw:
            mem.append({"host": h, "name": n, "mean_bytes": sum(v for v, _ in vw) / len(vw),
                        "max_bytes": max(v for v, _ in vw), "seconds_listed": sum(w for _, w in vw)})
    cpu.sort(key=lambda r: (-r["core_seconds"], r["host"], r["name"]))
    mem.sort(key=lambda r: (-r["mean_bytes"], r["host"], r["name"]))
    return {"by_cpu": cpu[:TOP_PROCESSES] if cpu else None, "by_memory": mem[:TOP_PROCESSES] if mem else None}
