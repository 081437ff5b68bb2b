"""Scores (0-100) from measured figures against the spec's baselines, overall score and grade.

Formula (one for every figure): with ``r`` the ratio by which the measurement beats its baseline
(``baseline / measured`` for latencies, ``measured / baseline`` for throughputs)::

    score = clamp(60 + 20 * log2(r), 0, 100)

Meeting the baseline exactly scores 60 (grade B, "adequate"); every factor of 2 better adds 20
points (2x -> 80, 4x -> 100, capped), every factor of 2 worse takes 20 away (2x -> 40, 8x -> 0).
It is monotonic in the measured value and bounded. A measurement of 0 (a latency too small to
resolve) scores 100; a throughput of 0 scores 0.

Category score: the mean of its figures' scores; for API and network it is then multiplied by
the success ratio (1 - error rate, 1 - loss). A category with no measured figure is "not
measured" (None), and the overall score

    overall = (API*0.30 + Database*0.25 + Network*0.20 + System*0.25) / (sum of weights that ran)

is renormalised over the categories that ran (None when none did).
"""

from __future__ import annotations

import math

# The spec's "Performance Baselines": (baseline, unit, "lower"|"higher" is better).
BASELINES: dict[str, tuple[float, str, str]] = {
    "api_latency_p95_seconds": (0.5, "seconds", "lower"),
    "redis_op_latency_p95_seconds": (0.010, "seconds", "lower"),
    "network_rtt_p50_seconds": (0.005, "seconds", "lower"),
    "disk_sequential_bytes_per_second": (500e6, "bytes/s", "higher"),
    "memory_bandwidth_bytes_per_second": (40e9, "bytes/s", "higher"),
}
WEIGHTS = {"api": 0.30, "database": 0.25, "network": 0.20, "system": 0.25}
GRADES = ((90.0, "A+"), (80.0, "A"), (70.0, "B+"), (60.0, "B"), (50.0, "C+"), (40.0, "C"))
FORMULA = ("score = clamp(60 + 20*log2(r), 0, 100), r = baseline/measured for latencies, "
           "measured/baseline for throughputs; category = mean of its figures' scores "
           "(x success ratio for api/network); overall = weighted mean "
           "(api 0.30, database 0.25, network 0.20, system 0.25) over categories that ran")


def ratio_score(r: float) -> float:
    """``clamp(60 + 20*log2(r), 0, 100)`` for a ratio ``r >= 0`` (``inf`` -> 100, 0 -> 0).

    Raises ValueError for a negative or NaN ratio."""
    if math.isnan(r) or r < 0:
        raise ValueError(f"ratio must be >= 0, got {r!r}")
    if r == 0:
        return 0.0
    if math.isinf(r):
        return 100.0
    return min(100.0, max(0.0, 60.0 + 20.0 * math.log2(r)))


def figure_score(measured: float | None, baseline: float, better: str) -> float | None:
    """Score of one measured figure; None when it was not measured. ``better`` is "lower"
    (latency: r = baseline/measured) or "higher" (throughput: r = measured/baseline)."""
    if measured is None:
        return None
    if measured < 0 or math.isnan(measured):
        raise ValueError(f"measured value must be >= 0, got {measured!r}")
    if better == "lower":
        return ratio_score(math.inf if measured == 0 else baseline / measured)
    if better == "higher":
        return ratio_score(measured / baseline)
    raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")


def baseline_score(key: str, measured: float | None) -> float | None:
    """:func:`figure_score` against the spec baseline named ``key`` (see :data:`BASELINES`)."""
    base, _unit, better = BASELINES[key]
    return figure_score(measured, base, better)


def category_score(scores: list[float | None], success_ratio: float | None = 1.0) -> float | None:
    """Mean of the non-None ``scores`` times ``success_ratio`` (clamped to [0, 1]); None when no
    score was measured."""
    xs = [s for s in scores if s is not None]
    if not xs:
        return None
    k = 1.0 if success_ratio is None else min(1.0, max(0.0, success_ratio))
    return math.fsum(xs) / len(xs) * k


def overall_score(categories: dict[str, float | None]) -> float | None:
    """Weighted mean of the measured category scores, renormalised over those that ran."""
    num = den = 0.0
    for name, s in categories.items():
        if s is None:
            continue
        w = WEIGHTS[name]
        num += w * s
        den += w
    return num / den if den else None


def grade(score: float | None) -> str | None:
    """The spec's grade of a 0-100 score: A+ >= 90, A >= 80, B+ >= 70, B >= 60, C+ >= 50,
    C >= 40, D below; None for no score."""
    if score is None:
        return None
    for floor, name in GRADES:
        if score >= floor:
            return name
    return "D"
