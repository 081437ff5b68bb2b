"""Rule condition functions over a window of points, and the online anomaly baseline.

Every function takes ``points`` as ``[(unix_seconds, value)]`` in time order (``None`` values and
non-finite ones are ignored) and returns a float or ``None`` when there is not enough data.
:func:`covers` says whether a window's points reach back far enough to stand for the window.

Prediction (``time_to_threshold``): a Theil–Sen fit (the median of the pairwise slopes, robust to
outliers; at most 200 evenly spaced points are used, so cost stays bounded) over the window; the
answer is the seconds from the newest point until the fitted line reaches ``target``, or ``None``
when the trend does not head towards it (flat or moving away).

Anomaly score: an exponentially weighted mean (``alpha``) and an exponentially weighted mean
absolute deviation of the series; the score is ``|x - mean| / (1.4826 * mad)``, a robust z-score
(1.4826 scales a MAD to a standard deviation for normal data). The first ``warmup`` values only
train the baseline (score ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Points = Sequence[tuple[float, float | None]]

MAX_FIT_POINTS = 200
COVERAGE_SHARE = 0.5  # the data must reach back to the first half of the window


def covers(points: Points, start: float, window: float, share: float = COVERAGE_SHARE) -> bool:
    """True when the oldest usable point of a window ``[start, start + window]`` (Unix seconds)
    lies at most ``share * window`` after ``start``: a 5 m average needs readings from at least
    the last 2.5 m, so 11 s after a fresh start nothing is claimed for the 5 m window."""
    pts = _clean(points)
    return bool(pts) and pts[0][0] <= start + share * window


def _clean(points: Points) -> list[tuple[float, float]]:
    return [(t, v) for t, v in points if v is not None and math.isfinite(v)]


def window_avg(points: Points) -> float | None:
    pts = _clean(points)
    return sum(v for _, v in pts) / len(pts) if pts else None


def window_max(points: Points) -> float | None:
    pts = _clean(points)
    return max(v for _, v in pts) if pts else None


def window_min(points: Points) -> float | None:
    pts = _clean(points)
    return min(v for _, v in pts) if pts else None


def counter_rate(points: Points) -> float | None:
    """Per-second increase of a counter over the window, counter-aware: a value lower than the
    previous one is a reset, and the increase across it is the new value (as Prometheus'
    ``rate``, without extrapolation to the window edges). ``None`` with fewer than two points."""
    pts = _clean(points)
    if len(pts) < 2 or pts[-1][0] <= pts[0][0]:
        return None
    inc = 0.0
    for (_, a), (_, b) in zip(pts, pts[1:], strict=False):
        inc += b - a if b >= a else b
    return inc / (pts[-1][0] - pts[0][0])


def theil_sen(points: Points) -> tuple[float, float] | None:
    """(slope per second, intercept at t=0 relative to the first point) of the Theil–Sen fit,
    or ``None`` with fewer than 3 points."""
    pts = _clean(points)
    if len(pts) < 3:
        return None
    if len(pts) > MAX_FIT_POINTS:
        stride = len(pts) / MAX_FIT_POINTS
        pts = [pts[int(i * stride)] for i in range(MAX_FIT_POINTS)] + [pts[-1]]
    t0 = pts[0][0]
    slopes = sorted((b[1] - a[1]) / (b[0] - a[0])
                    for i, a in enumerate(pts) for b in pts[i + 1:] if b[0] > a[0])
    if not slopes:
        return None
    slope = _median(slopes)
    intercept = _median([v - slope * (t - t0) for t, v in pts])
    return slope, intercept


def time_to_threshold(points: Points, target: float) -> float | None:
    """Seconds from the newest point until the Theil–Sen line reaches ``target``; ``None`` when
    the trend is flat or does not head towards it (moving away, or already beyond it: the plain
    threshold rule covers that case)."""
    pts = _clean(points)
    fit = theil_sen(pts)
    if fit is None or fit[0] == 0:
        return None
    slope, intercept = fit
    now_value = intercept + slope * (pts[-1][0] - pts[0][0])
    eta = (target - now_value) / slope
    return eta if eta >= 0 else None


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2


@dataclass
class AnomalyBaseline:
    """Online baseline of one series (constant memory). ``update(x)`` returns the robust z-score
    of ``x`` against the baseline *before* learning from ``x``, or ``None`` while warming up."""

    alpha: float = 0.05
    warmup: int = 20
    mean: float = 0.0
    mad: float = 0.0
    n: int = 0

    def update(self, x: float) -> float | None:
        if not math.isfinite(x):
            return None
        score = None
        if self.n >= self.warmup:
            scale = 1.4826 * self.mad
            score = abs(x - self.mean) / scale if scale > 0 else (0.0 if x == self.mean else math.inf)
        if self.n == 0:
            self.mean = x
        else:
            dev = abs(x - self.mean)
            self.mean += self.alpha * (x - self.mean)
            self.mad += self.alpha * (dev - self.mad) if self.n > 1 else dev
        self.n += 1
        return score
