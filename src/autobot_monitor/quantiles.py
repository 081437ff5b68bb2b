"""Quantiles from Prometheus histogram buckets, and counter increases over a window.

:func:`histogram_quantile` follows PromQL's ``histogram_quantile`` (``promql/quantile.go``,
``BucketQuantile``) for classic histograms:

1. buckets are sorted by upper bound ``le``; buckets with the same bound are merged (summed);
2. without a ``+Inf`` bucket, with fewer than two buckets, or with no observations the result is
   undefined: PromQL answers NaN, we answer ``None`` (a figure that was not measured is absent);
3. cumulative counts are forced monotonic (a count lower than its predecessor, which happens when
   buckets were scraped at slightly different moments, is raised to it);
4. ``rank = q * total`` (total = the ``+Inf`` count); the first bucket whose count reaches the rank
   holds the quantile, found by linear interpolation between the bucket's lower bound (the
   previous ``le``, or 0 for the first bucket) and its ``le``, assuming observations are spread
   evenly inside it;
5. a rank that falls in the ``+Inf`` bucket answers the highest finite ``le`` (nothing better is
   known); a first bucket with ``le <= 0`` answers its ``le``.

So the result is exact only to the width of the bucket it falls in: that is the histogram's
resolution. ``q`` outside [0, 1] raises ``ValueError`` (PromQL answers ±Inf). One deviation: for
``q == 0`` PromQL divides 0 by an empty first bucket's 0 and answers NaN; we skip empty buckets
and answer the lower bound of the first non-empty one.

:func:`increase` is PromQL's ``increase`` without its extrapolation to the window's edges: the sum
of the rises between consecutive samples, where a fall is a counter reset (the process restarted)
and the new value counts as the rise since the reset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def parse_le(text: str) -> float:
    """A ``le`` label value as float (``"+Inf"``, ``"0.25"``, ``"1e-3"``). Raises ``ValueError``
    for text that is not a number or is NaN."""
    v = float(text)
    if math.isnan(v):
        raise ValueError("le must not be NaN")
    return v


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The ``q``-quantile (0 <= q <= 1) of a classic histogram given as ``(le, cumulative count)``
    pairs in any order (``le`` as float, ``math.inf`` for ``+Inf``). Returns a value in the
    histogram's unit, or None when undefined (see the module doc). Raises ``ValueError`` for ``q``
    outside [0, 1] or NaN."""
    if math.isnan(q) or q < 0 or q > 1:
        raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
    merged: dict[float, float] = {}
    for le, count in buckets:
        if math.isnan(le) or math.isnan(count):
            continue
        merged[le] = merged.get(le, 0.0) + count
    bs = sorted(merged.items())
    if len(bs) < 2 or not math.isinf(bs[-1][0]) or bs[-1][0] < 0:
        return None
    # force monotonic cumulative counts
    fixed: list[tuple[float, float]] = []
    high = -math.inf
    for le, count in bs:
        high = max(high, count)
        fixed.append((le, high))
    total = fixed[-1][1]
    if total <= 0:
        return None
    rank = q * total
    b = len(fixed) - 1
    for i in range(len(fixed) - 1):
        if fixed[i][1] >= rank and fixed[i][1] > 0:
            b = i
            break
    if b == len(fixed) - 1:
        return fixed[-2][0]
    if b == 0 and fixed[0][0] <= 0:
        return fixed[0][0]
    start, end, count = 0.0, fixed[b][0], fixed[b][1]
    if b > 0:
        start = fixed[b - 1][0]
        count -= fixed[b - 1][1]
        rank -= fixed[b - 1][1]
    return start + (end - start) * (rank / count)


def increase(points: Sequence[tuple[float, float | None]]) -> float | None:
    """Increase of a counter over time-ordered ``(t, value)`` points (``None`` values skipped),
    reset-aware (see the module doc). None with fewer than two values: one reading is no
    increase."""
    vals = [v for _, v in points if v is not None and not math.isnan(v)]
    if len(vals) < 2:
        return None
    total = 0.0
    for prev, cur in zip(vals, vals[1:], strict=False):
        total += cur - prev if cur >= prev else cur
    return total
