"""Section 1: availability per service and host from stored check results.

Source: ``autobot_service_up{service}`` (one sample per check per hub cycle) and
``autobot_host_up{host}`` (one per inventory host per cycle), read at the monitoring interval
``step`` with ``fn=sum`` and ``fn=count`` per step (exact on the raw tier; a period older than the
raw retention is read from the 1-minute rollups, which keep sum and count too).

* three states: the period splits into *up*, *down* and *unknown* seconds. Monitored time is
  what the steps with check results cover (:func:`covered_seconds`: up to the next such step,
  unless a hole lies between); it splits into up and down in the ratio of up to down samples;
  the rest is unknown (the hub was not running, the check was not configured yet).
  ``coverage_percent = 100 x monitored / period``; unknown never counts as up;
* uptime % = 100 x up samples / all samples in the period (= up time / monitored time);
* a step with any sample below 1 is *down*; an outage is a run of down steps (a gap of at most
  :data:`MAX_GAP_STEPS` steps without samples does not split it; a step here is the larger of
  ``step`` and the median spacing of the samples, i.e. the interval the history was recorded
  at); its length runs from the first
  down step to the first up step after it, or to the end of the last down step when the period
  ends during it (``ongoing``);
* error budget: ``(1 - target) x period length`` of allowed downtime; ``budget_left_seconds`` is
  that minus the summed outage lengths (negative = exceeded).

A service or host with no sample in the period is reported with ``None`` figures ("no data")
and coverage 0. ``meets_target`` is None (cannot say) while coverage is under
:data:`MIN_COVERAGE_PERCENT`.
"""

from __future__ import annotations

from ..store.codec import STALE_FACTOR
from .source import MetricSource, fetch

TARGET_PERCENT = 99.9
MAX_GAP_STEPS = 2
MAX_LISTED = 20  # outages listed per service/host (the longest); counts cover all
MIN_COVERAGE_PERCENT = 90.0  # below it a report says so in its first line


def three_states(up_samples: float, samples: float, monitored: float, length: float) -> dict:
    """Up/down/unknown seconds of a period of ``length`` seconds of which ``monitored`` seconds
    were watched by an up-or-down check (0/1 values; ``up_samples`` of ``samples`` up):
    ``{up_seconds, down_seconds, unknown_seconds, monitored_seconds, coverage_percent}``
    (monitored time capped at the period; coverage None for an empty period). The monitored time
    is split between up and down in the ratio of the samples."""
    mon = max(0.0, min(monitored, length))
    up_s = mon * up_samples / samples if samples else 0.0
    return {"up_seconds": up_s, "down_seconds": mon - up_s, "unknown_seconds": length - mon,
            "monitored_seconds": mon, "coverage_percent": 100.0 * mon / length if length > 0 else None}


def covered_seconds(times: list[float], step: float) -> float:
    """Seconds watched, from the sorted start times of the steps that hold samples: each step
    covers the time to the next one, unless that gap is a hole (longer than ``STALE_FACTOR x``
    the spacing, the larger of ``step`` and the median distance); the last step before a hole
    and the very last one cover one spacing."""
    if not times:
        return 0.0
    sp = max(step, _spacing(times))
    limit = STALE_FACTOR * sp
    return sp + sum(g if g <= limit else sp for g in (b - a for a, b in zip(times, times[1:], strict=False)))


def outages(sums: dict[float, float], counts: dict[float, float], step: float) -> list[dict]:
    """Runs of down steps from per-step ``sums`` and ``counts`` (keyed by step start) ->
    ``[{"start", "end", "seconds", "ongoing"}]`` in time order."""
    out: list[dict] = []
    cur: dict | None = None
    last_down = None
    times = sorted(counts)
    step = max(step, _spacing(times))
    for t in times:
        down = sums.get(t, 0.0) < counts[t]
        if down:
            if cur is not None and last_down is not None and t - last_down > (MAX_GAP_STEPS + 1) * step:
                cur.update(end=last_down + step, ongoing=False)
                out.append(cur)
                cur = None
            if cur is None:
                cur = {"start": t}
            last_down = t
        elif cur is not None:
            cur.update(end=t, ongoing=False)
            out.append(cur)
            cur = None
    if cur is not None:
        cur.update(end=last_down + step, ongoing=True)
        out.append(cur)
    for o in out:
        o["seconds"] = o["end"] - o["start"]
    return out


def _spacing(times: list[float]) -> float:
    """Median distance between consecutive steps with samples: the interval the history was
    recorded at (it may differ from the current config's)."""
    if len(times) < 2:
        return 0.0
    d = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    return d[len(d) // 2]


def _summarise(sums: dict[float, float], counts: dict[float, float], step: float,
               length: float, target: float) -> dict:
    n = sum(counts.values())
    up = sum(sums.values())
    states = three_states(up, n, covered_seconds(sorted(t for t, c in counts.items() if c), step), length)
    if not n:
        return {"samples": 0, "uptime_percent": None, "outages": None, "outage_count": None,
                "longest_outage_seconds": None, "downtime_seconds": None,
                "budget_allowed_seconds": length * (1 - target / 100), "budget_left_seconds": None,
                "budget_left_percent": None, "meets_target": None, **states}
    outs = outages(sums, counts, step)
    down_s = sum(o["seconds"] for o in outs)
    allowed = length * (1 - target / 100)
    uptime = 100.0 * up / n
    shown = sorted(sorted(outs, key=lambda o: -o["seconds"])[:MAX_LISTED], key=lambda o: o["start"])
    return {"samples": int(n), "uptime_percent": uptime, "outages": shown, "outage_count": len(outs),
            "longest_outage_seconds": max((o["seconds"] for o in outs), default=0.0),
            "downtime_seconds": down_s, "budget_allowed_seconds": allowed,
            "budget_left_seconds": allowed - down_s,
            "budget_left_percent": 100.0 * (allowed - down_s) / allowed if allowed else None,
            "meets_target": uptime >= target if states["coverage_percent"] is not None
            and states["coverage_percent"] >= MIN_COVERAGE_PERCENT else None, **states}


def _grouped(source: MetricSource, metric: str, label: str, start: float, end: float,
             step: float) -> dict[str, tuple[dict, dict]]:
    sums = fetch(source, metric, [], start, end, step, "sum")
    counts = fetch(source, metric, [], start, end, step, "count")
    out: dict[str, tuple[dict, dict]] = {}
    for key, pts in counts.items():
        name = dict(key).get(label)
        if not name:
            continue
        s, c = out.setdefault(name, ({}, {}))
        for t, v in pts:
            c[t] = c.get(t, 0.0) + v
        for t, v in sums.get(key, []):
            s[t] = s.get(t, 0.0) + v
    return out


def availability(source: MetricSource, start: float, end: float, step: float,
                 services: list[str], hosts: list[str], target: float = TARGET_PERCENT) -> dict:
    """``{"target_percent", "step_seconds", "services": {name: figures}, "hosts": {...},
    "coverage": see :func:`coverage`}``; ``services``/``hosts`` are the configured names
    (shown even without data); any other name with stored samples in the period is added."""
    doc = {"target_percent": target, "step_seconds": step,
           "method": "uptime = up time / monitored time (unknown time never counts as up); "
                     "coverage = monitored time / period (a step with check results covers the "
                     "time to the next one unless a hole lies between); outage = run of check "
                     "steps with a failed check; error budget = (1 - target) x period"}
    for section, metric, label, names in (("services", "autobot_service_up", "service", services),
                                          ("hosts", "autobot_host_up", "host", hosts)):
        data = _grouped(source, metric, label, start, end, step)
        doc[section] = {n: _summarise(*data.get(n, ({}, {})), step, end - start, target)
                        for n in sorted(set(names) | set(data))}
    doc["coverage"] = coverage(doc, end - start)
    return doc


def coverage(doc: dict, length: float) -> dict:
    """The report's coverage: the most monitored time of any host or service (how long the hub
    was watching at all) -> ``{monitored_seconds, period_seconds, percent, threshold_percent,
    low, text}``; ``text`` reads "monitored 3 min of 24 h: 0.2 %"."""
    mon = max((a["monitored_seconds"] for sec in ("services", "hosts") for a in doc[sec].values()),
              default=0.0)
    pct = 100.0 * mon / length if length > 0 else 0.0
    return {"monitored_seconds": mon, "period_seconds": length, "percent": pct,
            "threshold_percent": MIN_COVERAGE_PERCENT, "low": pct < MIN_COVERAGE_PERCENT,
            "text": f"monitored {_span(mon)} of {_span(length)}: {_pct(pct)} %"}


def _span(s: float) -> str:
    """Seconds -> ``45 s``, ``3 min``, ``23.8 h``, ``30 d``."""
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} d"


def _pct(p: float) -> str:
    """Percent with enough digits that a small share is not shown as 0 or 100."""
    if 0 < p < 0.1:
        return f"{p:.3f}"
    if 99.9 < p < 100:
        return f"{p:.3f}"
    return f"{p:.1f}"


# -- the hub's 24 h figures (GET /api/metrics/current, /api/system/status) ---------------------
def no_availability() -> dict:
    """The hub's 24 h figures of a host or service with nothing stored (all None)."""
    return {"availability_24h_percent": None, "coverage_24h_percent": None,
            "up_24h_seconds": None, "down_24h_seconds": None, "unknown_24h_seconds": None}


def availability_24h(store, key: tuple[str, str], now: float, interval: float) -> dict:
    """Figures of one host or service over ``[now - 24 h, now]`` from the per-minute sum and
    count of its 0/1 check results (1-minute rollups); a minute with ``n`` results was watched
    for ``min(60 s, n x interval)``. See :func:`no_availability` for the keys."""
    name, label = ("autobot_host_up", "host") if key[0] == "host" else ("autobot_service_up", "service")
    args = (name, {label: key[1]}, now - 86400, now, 60)
    if hasattr(store, "tally"):  # the embedded store: one read
        rows = [(c, v) for _, c, v in store.tally(*args)]
    else:  # another backend: the same figures from two queries
        by_t: dict[float, list[float]] = {}
        for i, fn in enumerate(("count", "sum")):
            for s in store.query(*args, fn).series:
                for t, v in s.points:
                    if v is not None:
                        by_t.setdefault(t, [0.0, 0.0])[i] += v
        rows = [(c, v) for c, v in by_t.values()]
    n, up = sum(c for c, _ in rows), sum(v for _, v in rows)
    st = three_states(up, n, sum(min(60.0, c * interval) for c, _ in rows), 86400.0)
    return {"availability_24h_percent": round(100.0 * up / n, 3) if n else None,
            "coverage_24h_percent": round(st["coverage_percent"], 3),
            "up_24h_seconds": round(st["up_seconds"], 1), "down_24h_seconds": round(st["down_seconds"], 1),
            "unknown_24h_seconds": round(st["unknown_seconds"], 1)}
