"""One clock object for the whole product: monotonic for intervals and rates, wall for timestamps.

Tests pass a :class:`FakeClock` so rates, durations and retention are checked without sleeping,
and so a wall clock stepping backwards can be simulated.
"""

from __future__ import annotations

import time


class Clock:
    """Real time. ``monotonic()`` (seconds, arbitrary origin, never goes back) is used for every
    interval and rate; ``time()`` (Unix seconds) only for sample timestamps."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class FakeClock(Clock):
    """A clock tests move by hand: ``advance(s)`` moves both clocks, ``set_wall(t)`` moves only the
    wall clock (which may go backwards)."""

    def __init__(self, wall: float = 1_700_000_000.0, mono: float = 1000.0):
        self._wall = wall
        self._mono = mono

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += seconds

    def set_wall(self, wall: float) -> None:
        self._wall = wall


SYSTEM_CLOCK = Clock()
