"""Host analyzers: CPU, memory (leaks, swap), disk (time to full, reclaimable files), load,
thermals and GPU throttling.

Every analyzer is a pure function ``AnalysisInput -> list[Recommendation]``: it reads the stored
history and the current state handed to it and recommends nothing unless a measured figure over
a long enough stretch of the window crosses a threshold. Figures that were not measured make an
analyzer skip, never guess. Slopes and times to a threshold are Theil–Sen fits
(:mod:`..alerts.functions`), robust to single outliers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..alerts.functions import theil_sen, time_to_threshold
from .model import ActionRef, AnalysisInput, HostInput, Recommendation

MIN_POINTS = 6
"""Fewest stored points a history-based finding needs."""
MIN_COVERAGE = 0.5
"""Share of the window the points must span."""
SUSTAINED = 0.8
"""Share of points beyond a threshold for a level to count as sustained."""
FORECAST_MIN_HISTORY = 1800.0
"""Seconds of history (first to last point) a forecast (time to full, to memory exhausted) needs;
below it the forecast is reported as :data:`NOT_ENOUGH_HISTORY`, never as a figure."""
FORECAST_MAX_RATIO = 12.0
"""A forecast reaches at most this many times the history it is fitted on (30 min of history: at
most 6 h ahead); a farther one is :data:`NOT_ENOUGH_HISTORY` too."""
NOT_ENOUGH_HISTORY = "not enough history"


def clean(points: Sequence[tuple[float, float | None]]) -> list[tuple[float, float]]:
    return [(t, v) for t, v in points if v is not None and math.isfinite(v)]


def enough(pts: list[tuple[float, float]], window: float, coverage: float = MIN_COVERAGE) -> bool:
    """At least :data:`MIN_POINTS` points spanning ``coverage`` of ``window`` seconds."""
    return len(pts) >= MIN_POINTS and pts[-1][0] - pts[0][0] >= coverage * window


def forecast_reach(pts: list[tuple[float, float]]) -> float | None:
    """Seconds ahead a forecast fitted on ``pts`` may reach: history span x
    :data:`FORECAST_MAX_RATIO`; None below :data:`FORECAST_MIN_HISTORY` of history."""
    span = pts[-1][0] - pts[0][0] if pts else 0.0
    return span * FORECAST_MAX_RATIO if span >= FORECAST_MIN_HISTORY else None


def forecast(pts: list[tuple[float, float]], seconds_ahead: float | None) -> float | None:
    """``seconds_ahead`` when the history behind ``pts`` supports it (:func:`forecast_reach`),
    else None (then say :data:`NOT_ENOUGH_HISTORY`)."""
    reach = forecast_reach(pts)
    if seconds_ahead is None or reach is None or seconds_ahead > reach:
        return None
    return seconds_ahead


def history_note(pts: list[tuple[float, float]]) -> dict:
    """Evidence values saying why a forecast is absent: history span and what is needed."""
    return {"forecast": NOT_ENOUGH_HISTORY, "history_seconds": pts[-1][0] - pts[0][0],
            "min_history_seconds": FORECAST_MIN_HISTORY, "max_forecast_ratio": FORECAST_MAX_RATIO}


def mean(pts: list[tuple[float, float]]) -> float:
    return sum(v for _, v in pts) / len(pts)


def sustained(pts: list[tuple[float, float]], limit: float) -> tuple[float, float] | None:
    """``(mean, share of points at or above limit)`` of ``pts`` when the mean reaches ``limit``
    and the share is at least :data:`SUSTAINED`; None otherwise (a spike or a short excursion
    is not a finding)."""
    avg = mean(pts)
    share = sum(1 for _, v in pts if v >= limit) / len(pts)
    return None if avg < limit or share < SUSTAINED else (avg, share)


def evidence(inp: AnalysisInput, metric: str, labels: dict, pts: list[tuple[float, float]] | None,
             **values) -> dict:
    """The evidence dict: metric, labels, window (first/last point when history was used, else
    the analysis window) and the ``values`` that were measured (None ones are left out)."""
    win = {"start": pts[0][0], "end": pts[-1][0]} if pts else \
        {"start": inp.now - inp.window, "end": inp.now}
    vals = {k: v for k, v in values.items() if v is not None}
    return {"metric": metric, "labels": labels, "window": win, "points": len(pts) if pts else None,
            "values": vals}


def top_processes(h: HostInput, metric: str, n: int = 3) -> list[dict]:
    rows = sorted(h.current.get(metric, ()), key=lambda r: -r[1])[:n]
    return [{"name": lab.get("name"), "pid": lab.get("pid"), "value": round(v, 3)} for lab, v in rows]


# -- CPU and load --------------------------------------------------------------------------------
def analyze_cpu(inp: AnalysisInput) -> list[Recommendation]:
    """Sustained CPU saturation: window average and :data:`SUSTAINED` of the points at or above
    ``alert_thresholds.cpu_percent``. Names the top CPU processes; proposes a renice (reversible)
    when one of them is a configured ``optimizer.processes`` entry with ``nice``."""
    out = []
    thr = inp.thresholds.cpu_percent
    for h in inp.hosts:
        for s in inp.series("autobot_cpu_busy_percent", host=h.name, cpu="all"):
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            found = sustained(pts, thr)
            if found is None:
                continue
            avg, share = found
            top = top_processes(h, "autobot_process_cpu_percent")
            action = None
            for p in top:
                tune = inp.opt.process(p["name"] or "")
                if h.local and tune is not None:
                    action = ActionRef("renice" if tune.nice is not None else "cpu_affinity",
                                       tune.name, h.name)
                    break
            ev = evidence(inp, "autobot_cpu_busy_percent", {"host": h.name, "cpu": "all"}, pts,
                          avg_percent=avg, share_above_threshold=share, threshold_percent=thr)
            ev["top_processes"] = top
            names = ", ".join(f"{p['name']} ({p['value']:.0f}%)" for p in top) or "n/m"
            out.append(Recommendation(
                "cpu", "cpu_saturated", "critical" if avg >= 95 else "high", h.name, "cpu",
                f"CPU busy {avg:.0f}% on average over the window on {h.name}; top: {names}", ev,
                "a lower priority or fewer CPUs for that process leaves the others more CPU"
                if action else "find and reduce the top consumers, or add CPU capacity",
                action, action is not None,
                "restore the recorded previous value" if action else "nothing to undo (advice only)",
                "autobot_cpu_busy_percent", {"host": h.name, "cpu": "all"}))
    return out


def analyze_load(inp: AnalysisInput) -> list[Recommendation]:
    """5-minute load average per CPU above ``optimizer.thresholds.load_per_cpu``, sustained."""
    out = []
    lim = inp.opt.thresholds.load_per_cpu
    for h in inp.hosts:
        ncpu = h.summary.get("cpu_count")
        if not ncpu:
            continue
        for s in inp.series("node_load5", host=h.name):
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            per_cpu = mean(pts) / ncpu
            share = sum(1 for _, v in pts if v / ncpu >= lim) / len(pts)
            if per_cpu < lim or share < SUSTAINED:
                continue
            ev = evidence(inp, "node_load5", {"host": h.name}, pts, avg_load5=mean(pts),
                          cpu_count=ncpu, load_per_cpu=per_cpu, threshold_per_cpu=lim)
            ev["top_processes"] = top_processes(h, "autobot_process_cpu_percent")
            out.append(Recommendation(
                "load", "load_high", "high" if per_cpu >= 2 * lim else "medium", h.name, "load",
                f"load {per_cpu:.1f} per CPU on {h.name} (threshold {lim:g})", ev,
                "less run-queue wait once work is spread or reduced (blocked I/O counts too)",
                metric="node_load5", matchers={"host": h.name}))
    return out


# -- memory ----------------------------------------------------------------------------------
def leak_fit(pts: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(slope in bytes/hour, share of non-decreasing steps) for a steadily growing series, else
    None. Steady means the Theil–Sen slope is positive, at least :data:`SUSTAINED` of the steps do
    not go down, and the series actually grew by half of what the slope predicts."""
    fit = theil_sen(pts)
    if fit is None or fit[0] <= 0:
        return None
    steps = [b[1] - a[1] for a, b in zip(pts, pts[1:], strict=False)]
    steady = sum(1 for d in steps if d >= 0) / len(steps)
    grew = pts[-1][1] - pts[0][1]
    if steady < SUSTAINED or grew < 0.5 * fit[0] * (pts[-1][0] - pts[0][0]):
        return None
    return fit[0] * 3600.0, steady


def analyze_memory(inp: AnalysisInput) -> list[Recommendation]:
    """Leak suspicion per process (resident memory growing steadily at or above
    ``leak_min_bytes_per_hour``), swap pressure and sustained high memory use."""
    out = []
    t = inp.opt.thresholds
    for h in inp.hosts:
        avail = (h.summary.get("memory") or {}).get("available_bytes")
        for s in inp.series("autobot_process_resident_memory_bytes", host=h.name):
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            fit = leak_fit(pts)
            if fit is None or fit[0] < t.leak_min_bytes_per_hour:
                continue
            per_h, steady = fit
            name, pid = s.labels.get("name", "?"), s.labels.get("pid", "?")
            raw_left = avail / per_h * 3600.0 if avail else None
            left = forecast(pts, raw_left)
            hours_left = left / 3600.0 if left is not None else None
            sev = "medium" if hours_left is None or hours_left >= 24 else \
                ("critical" if hours_left < 2 else "high")
            svc = next((x for x in inp.opt.services if x.process == name), None)
            action = ActionRef("restart_service", svc.service, h.name) if svc else None
            labels = {"host": h.name, "pid": pid, "name": name}
            ev = evidence(inp, "autobot_process_resident_memory_bytes", labels, pts,
                          slope_bytes_per_hour=per_h, rss_first_bytes=pts[0][1],
                          rss_last_bytes=pts[-1][1], non_decreasing_share=steady,
                          available_bytes=avail, hours_until_memory_exhausted=hours_left)
            if raw_left is not None and hours_left is None:
                ev["values"].update(history_note(pts))
            out.append(Recommendation(
                "memory", "memory_leak_suspected", sev, h.name, f"{name}[{pid}]",
                f"{name} (pid {pid}) grows {per_h / 2**20:.1f} MiB/h steadily on {h.name}", ev,
                f"a restart of {svc.service} returns its memory (the leak itself needs a fix)"
                if svc else "profile the process (heap growth); restarting only buys time",
                action, action is not None,
                "not reversible: a restart cannot be undone" if svc else "nothing to undo (advice only)",
                "autobot_memory_used_percent", {"host": h.name}))
        for s in inp.series("autobot_swap_used_percent", host=h.name):
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            swap = mean(pts)
            if swap < t.swap_used_percent:
                continue
            mem = [clean(m.points) for m in inp.series("autobot_memory_used_percent", host=h.name)]
            mem_avg = mean(mem[0]) if mem and mem[0] else None
            pressure = mem_avg is not None and mem_avg >= inp.thresholds.memory_percent
            ev = evidence(inp, "autobot_swap_used_percent", {"host": h.name}, pts,
                          swap_used_avg_percent=swap, memory_used_avg_percent=mem_avg,
                          threshold_percent=t.swap_used_percent)
            ev["top_processes"] = top_processes(h, "autobot_process_resident_memory_bytes")
            out.append(Recommendation(
                "memory", "swap_pressure", "high" if pressure else "medium", h.name, "swap",
                f"swap {swap:.0f}% used on {h.name}" + (f" with memory {mem_avg:.0f}% used" if pressure else ""),
                ev, "less paging once the largest processes shrink or memory is added",
                metric="autobot_swap_used_percent", matchers={"host": h.name}))
    return out


# -- disk ------------------------------------------------------------------------------------
def _disk_severity(ttf: float) -> str:
    return "critical" if ttf < 6 * 3600 else "high" if ttf < 86400 else "medium"


def analyze_disk(inp: AnalysisInput) -> list[Recommendation]:
    """Filesystems filling up (time until ``node_filesystem_avail_bytes`` reaches 0 from the
    Theil–Sen trend, under ``disk_full_horizon``) or already above ``alert_thresholds.disk_percent``;
    proposes a cleanup of a configured root on that filesystem when it holds reclaimable files.
    Configured roots holding at least ``cleanup_min_bytes`` reclaimable get a low finding."""
    out = []
    covered: set[str] = set()
    t = inp.opt.thresholds
    for h in inp.hosts:
        used_now = {f["mountpoint"]: f.get("used_percent") for f in h.summary.get("filesystems") or []}
        for s in inp.series("node_filesystem_avail_bytes", host=h.name):
            mp = s.labels.get("mountpoint", "")
            pts = clean(s.points)
            if not enough(pts, inp.window, 0.25):
                continue
            raw_ttf = time_to_threshold(pts, 0.0)
            ttf = forecast(pts, raw_ttf)
            used = used_now.get(mp)
            fit = theil_sen(pts)
            if ttf is not None and ttf < t.disk_full_horizon:
                sev = _disk_severity(ttf)
            elif used is not None and used >= inp.thresholds.disk_percent:
                sev = "high"
            else:
                continue
            roots = [r for r, c in inp.cleanup.items()
                     if h.local and c.get("mountpoint") == mp and c.get("bytes", 0) > 0]
            action = ActionRef("disk_cleanup", roots[0], h.name) if roots else None
            if roots:
                covered.add(roots[0])
            ev = evidence(inp, "node_filesystem_avail_bytes", {"host": h.name, "mountpoint": mp}, pts,
                          avail_bytes=pts[-1][1], used_percent=used,
                          slope_bytes_per_hour=fit[0] * 3600 if fit else None,
                          seconds_until_full=ttf, horizon_seconds=t.disk_full_horizon)
            if roots:
                ev["reclaimable"] = {r: inp.cleanup[r] for r in roots}
            when = f"full in {ttf / 3600:.1f} h at the current rate" if ttf is not None \
                else f"{used:.0f}% used"
            if raw_ttf is not None and ttf is None:
                ev["values"].update(history_note(pts))
                when += f" (time to full: {NOT_ENOUGH_HISTORY})"
            out.append(Recommendation(
                "disk", "filesystem_filling", sev, h.name, mp, f"{mp} on {h.name}: {when}", ev,
                f"frees {inp.cleanup[roots[0]]['bytes']} bytes of old files under {roots[0]}"
                if roots else "remove or move data, or grow the filesystem",
                action, action is not None,
                "not reversible: removed files are gone" if roots else "nothing to undo (advice only)",
                "node_filesystem_avail_bytes", {"host": h.name, "mountpoint": mp}, "higher"))
    return out + _reclaimable_files(inp, covered)


def _reclaimable_files(inp: AnalysisInput, covered: set[str]) -> list[Recommendation]:
    """A low ``reclaimable_files`` finding, with a cleanup action, for each configured root of
    the local host holding at least ``cleanup_min_bytes`` reclaimable and not in ``covered``
    (roots a ``filesystem_filling`` finding already proposes cleaning)."""
    out: list[Recommendation] = []
    t = inp.opt.thresholds
    local = next((h.name for h in inp.hosts if h.local), None)
    for root, c in inp.cleanup.items():
        if root in covered or local is None or c.get("bytes", 0) < max(1.0, t.cleanup_min_bytes):
            continue
        mp = c.get("mountpoint")
        out.append(Recommendation(
            "disk", "reclaimable_files", "low", local, root,
            f"{c['bytes'] / 2**20:.1f} MiB in {c['files']} old file(s) under {root}",
            evidence(inp, "reclaimable_bytes", {"path": root}, None, bytes=c["bytes"], files=c["files"],
                     older_than_days=c.get("older_than_days")),
            f"frees {c['bytes']} bytes on {mp or 'its filesystem'}",
            ActionRef("disk_cleanup", root, local), True, "not reversible: removed files are gone",
            "node_filesystem_avail_bytes", {"host": local, "mountpoint": mp} if mp else {"host": local},
            "higher"))
    return out


# -- thermals and GPU ------------------------------------------------------------------------
THROTTLE_SEVERITY = {"hw_thermal_slowdown": "high", "hw_slowdown": "high",
                     "hw_power_brake_slowdown": "high", "sw_thermal_slowdown": "medium",
                     "sw_power_cap": "low"}


def analyze_thermal(inp: AnalysisInput) -> list[Recommendation]:
    """Sustained temperatures: hwmon sensors and thermal zones above
    ``thresholds.temperature_celsius`` (or the sensor's own max), GPUs above
    ``gpu_temperature_celsius``; GPU clock throttling for thermal or power reasons for at least
    a fifth of the window (``sw_power_cap``, normal under load, needs half)."""
    out = []
    t = inp.opt.thresholds
    for h in inp.hosts:
        maxes = {(lab.get("chip"), lab.get("sensor")): v
                 for lab, v in h.current.get("node_hwmon_temp_max_celsius", ())}
        for metric, keys, lim_default, cat in (
                ("node_hwmon_temp_celsius", ("chip", "sensor"), t.temperature_celsius, "thermal"),
                ("node_thermal_zone_temp", ("zone", "type"), t.temperature_celsius, "thermal"),
                ("autobot_gpu_temperature_celsius", ("gpu",), t.gpu_temperature_celsius, "gpu")):
            for s in inp.series(metric, host=h.name):
                pts = clean(s.points)
                if not enough(pts, inp.window):
                    continue
                key = tuple(s.labels.get(k) for k in keys)
                lim = min(lim_default, maxes.get(key, math.inf)) if metric.startswith("node_hwmon") \
                    else lim_default
                avg = mean(pts)
                if avg < lim:
                    continue
                labels = {"host": h.name, **{k: s.labels.get(k, "") for k in keys}}
                name = "/".join(str(k) for k in key)
                out.append(Recommendation(
                    cat, "temperature_high", "high" if avg >= lim + 10 else "medium", h.name, name,
                    f"{name} on {h.name} averaged {avg:.0f} °C (limit {lim:g} °C)",
                    evidence(inp, metric, labels, pts, avg_celsius=avg, max_celsius=max(v for _, v in pts),
                             limit_celsius=lim),
                    "lower temperature (and no throttling) once airflow, fans or load are fixed",
                    metric=metric, matchers=labels))
        for s in inp.series("autobot_gpu_throttle_reasons", host=h.name):
            reason = s.labels.get("reason", "")
            if reason not in THROTTLE_SEVERITY:
                continue
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            share = sum(1 for _, v in pts if v >= 1) / len(pts)
            if share < (0.5 if reason == "sw_power_cap" else 0.2):
                continue
            gpu = s.labels.get("gpu", "")
            labels = {"host": h.name, "gpu": gpu, "reason": reason}
            out.append(Recommendation(
                "gpu", "gpu_throttling", THROTTLE_SEVERITY[reason], h.name, f"gpu{gpu}:{reason}",
                f"GPU {gpu} on {h.name} throttled ({reason}) {share:.0%} of the window",
                evidence(inp, "autobot_gpu_throttle_reasons", labels, pts, active_share=share,
                         active_now=pts[-1][1]),
                "full clocks once cooling or the power limit stops forcing them down",
                metric="autobot_gpu_throttle_reasons", matchers=labels))
    return out
