"""Report periods and the resolution a report reads history at.

A period is ``[start, end]`` in Unix seconds (UTC), whole seconds. ``day``/``week``/``month`` are
the last 24 h / 7 d / 30 d ending now; ``START..END`` takes Unix seconds, RFC 3339 or
``now-DURATION`` on either side. The *previous* period is the one of the same length just before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import BadRequest, QueryError
from ..timeparse import parse_time

LENGTHS = {"day": 86400.0, "week": 7 * 86400.0, "month": 30 * 86400.0}
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)
TARGET_POINTS = 10_000  # per series and query: under the store's 11,000-point cap
RESOLUTION_STEPS = 10_080  # steps per period at most: a week at 1 min, a day at 10 s


@dataclass(frozen=True)
class Period:
    """``kind`` (day, week, month or custom), ``start``/``end`` Unix seconds."""

    kind: str
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start

    def previous(self) -> Period:
        return Period(self.kind, self.start - self.length, self.start)

    def to_json(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end,
                "start_iso": iso(self.start), "end_iso": iso(self.end),
                "length_seconds": self.length}


def iso(t: float | None) -> str | None:
    """Unix seconds -> ``2026-11-29T16:00:00Z``; None stays None."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_period(text: str, now: float) -> Period:
    """``day``, ``week``, ``month`` or ``START..END``. Raises QueryError (a ValueError) for
    anything else, an empty or reversed range."""
    t = text.strip()
    end = float(math.floor(now))
    if t in LENGTHS:
        return Period(t, end - LENGTHS[t], end)
    if ".." not in t:
        raise QueryError(f"period: expected day, week, month or START..END, got {text!r}")
    a, b = t.split("..", 1)
    try:
        start = float(math.floor(parse_time(a, "period start", now)))
        stop = float(math.floor(parse_time(b or "now", "period end", now)))
    except BadRequest as e:
        raise QueryError(str(e)) from None
    if stop <= start:
        raise QueryError("period: END must be after START")
    return Period("custom", start, stop)


def resolution(period: Period, interval: float | None) -> float:
    """Step (seconds) for trend figures: the smallest of :data:`NICE_STEPS` that is at least the
    monitoring ``interval`` and keeps the period within :data:`RESOLUTION_STEPS` steps."""
    floor = max(interval or 1.0, period.length / RESOLUTION_STEPS)
    for s in NICE_STEPS:
        if s >= floor:
            return float(s)
    return float(math.ceil(floor))
