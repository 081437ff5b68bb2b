"""Section 1: availability per service and host from stored check results.

Source: ``autobot_service_up{service}`` (one sample per check per hub cycle) and
``autobot_host_up{host}`` (one per inventory host per cycle), read at the monitoring interval
``step`` with ``fn=sum`` and ``fn=count`` per step (exact on the raw tier; a period older than the
raw retention is read from the 1-minute rollups, which keep sum and count too).

* uptime % = 100 x up samples / all samples in the period;
* a step with any sample below 1 is *down*; an outage is a run of down steps (a gap of at most
  :data:`MAX_GAP_STEPS` steps without samples does not split it; a step here is the larger of
  ``step`` and the median spacing of the samples, i.e. the interval the history was recorded
  at); its length runs from the first
  down step to the first up step after it, or to the end of the last down step when the period
  ends during it (``ongoing``);
* error budget: ``(1 - target) x period length`` of allowed downtime; ``budget_left_seconds`` is
  that minus the summed outage lengths (negative = exceeded).

A service or host with no sample in the period is reported with ``None`` figures ("no data").
"""

from __future__ import annotations

from .source import MetricSource, fetch

TARGET_PERCENT = 99.9
MAX_GAP_STEPS = 2
MAX_LISTED = 20  # outages listed per service/host (the longest); counts cover all


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
    if not n:
        return {"samples": 0, "uptime_percent": None, "outages": None, "outage_count": None,
                "longest_outage_seconds": None, "downtime_seconds": None,
                "budget_allowed_seconds": length * (1 - target / 100), "budget_left_seconds": None,
                "budget_left_percent": None, "meets_target": None}
    up = sum(sums.values())
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
            "meets_target": uptime >= target}


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
    """``{"target_percent", "step_seconds", "services": {name: figures}, "hosts": {...}}``;
    ``services``/``hosts`` are the configured names (shown even without data); any other name
    with stored samples in the period is added."""
    doc = {"target_percent": target, "step_seconds": step,
           "method": "uptime = up samples / all samples; outage = run of check steps with a "
                     "failed check; error budget = (1 - target) x period"}
    for section, metric, label, names in (("services", "autobot_service_up", "service", services),
                                          ("hosts", "autobot_host_up", "host", hosts)):
        data = _grouped(source, metric, label, start, end, step)
        doc[section] = {n: _summarise(*data.get(n, ({}, {})), step, end - start, target)
                        for n in sorted(set(names) | set(data))}
    return doc
