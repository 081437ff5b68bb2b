"""Percentiles, summaries and a bounded sample buffer for the benchmark suite.

Percentile method: linear interpolation between closest ranks, Hyndman & Fan type 7 (numpy's
``method="linear"``, R's default, Excel's ``PERCENTILE.INC``). For sorted samples ``x[0..n-1]``
and ``q`` in [0, 100]: ``h = (n - 1) * q / 100``, result ``x[floor(h)] + (h - floor(h)) *
(x[floor(h)+1] - x[floor(h)])``. So the result always lies within ``[min, max]``, one sample is
itself, and no samples is "no data" (``None``), never 0.
"""

from __future__ import annotations

import math
import random
import statistics
from array import array
from collections.abc import Iterable, Sequence

QUANTILES = (50.0, 90.0, 95.0, 99.0)


def percentile_sorted(xs: Sequence[float], q: float) -> float | None:
    """Type-7 percentile of already-sorted ``xs`` at ``q`` (0-100); None when ``xs`` is empty.

    Raises ValueError for ``q`` outside [0, 100] or NaN."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {q!r}")
    n = len(xs)
    if n == 0:
        return None
    h = (n - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    v = xs[lo] + (h - lo) * (xs[hi] - xs[lo])
    return min(max(v, xs[0]), xs[-1])  # guard against float rounding outside [min, max]


def percentile(values: Iterable[float], q: float) -> float | None:
    """Type-7 percentile of ``values`` (any order); None when there are none."""
    return percentile_sorted(sorted(values), q)


def percentile_summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """``{count, min, mean, stdev, p50, p90, p95, p99, max}`` of ``values`` in their own unit.
    With no values every figure but ``count`` (0) is None; ``stdev`` needs two values."""
    xs = sorted(values)
    n = len(xs)
    out: dict[str, float | int | None] = {"count": n}
    out["min"] = xs[0] if n else None
    out["mean"] = math.fsum(xs) / n if n else None
    out["stdev"] = statistics.stdev(xs) if n >= 2 else None
    for q in QUANTILES:
        out[f"p{q:g}"] = percentile_sorted(xs, q)
    out["max"] = xs[-1] if n else None
    return out


def spread(values: Sequence[float | None]) -> float | None:
    """Sample standard deviation of the non-None ``values``: the run-to-run noise estimate used by
    history comparisons. None with fewer than two values."""
    xs = [v for v in values if v is not None]
    return statistics.stdev(xs) if len(xs) >= 2 else None


def histogram(values: Iterable[float], bounds: Sequence[float]) -> list[dict]:
    """Counts per bucket ``[{"le": bound, "count": n}, ...]`` (cumulative, Prometheus style);
    the last bucket is ``le: "+Inf"``. ``bounds`` must be increasing."""
    xs = sorted(values)
    out, i = [], 0
    for b in bounds:
        while i < len(xs) and xs[i] <= b:
            i += 1
        out.append({"le": b, "count": i})
    out.append({"le": "+Inf", "count": len(xs)})
    return out


LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0)


class Reservoir:
    """At most ``cap`` float samples (8 bytes each). Up to ``cap`` every sample is kept; beyond it
    Vitter's algorithm R keeps a uniform random subset, so percentiles stay unbiased estimates while
    memory stays bounded. ``seen`` counts every sample offered; ``sampled`` says whether any was
    dropped. ``slices`` (when > 1) keeps a separate reservoir per time slice for noise estimates."""

    def __init__(self, cap: int = 1_000_000, seed: int | None = None):
        if cap < 1:
            raise ValueError("cap must be >= 1")
        self.cap = cap
        self.seen = 0
        self.data = array("d")
        self._rng = random.Random(seed)

    def add(self, v: float) -> None:
        self.seen += 1
        if len(self.data) < self.cap:
            self.data.append(v)
            return
        j = self._rng.randrange(self.seen)
        if j < self.cap:
            self.data[j] = v

    @property
    def sampled(self) -> bool:
        return self.seen > len(self.data)

    def __len__(self) -> int:
        return len(self.data)
