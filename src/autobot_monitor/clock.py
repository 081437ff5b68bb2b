"""One clock object for the whole product: monotonic for intervals and rates, wall for timestamps.

Tests pass a :class:`FakeClock` so rates, durations and retention are checked without sleeping,
and so a wall clock stepping backwards can be simulated.
"""

from __future__ import annotations

import logging
import time

from .model import MetricFamily, MetricSpec

log = logging.getLogger(__name__)


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


CLOCK_SPECS = (
    MetricSpec("autobot_clock_steps_total", "counter",
               "Wall-clock steps the hub detected: the wall clock moved against the monotonic "
               "clock by more than max(1 s, monitoring_interval / 2) between two cycles.", "",
               ("direction",)),
)


class StepDetector:
    """Detects steps of ``clock``'s wall time: the offset ``time() - monotonic()`` is stable while
    the wall clock runs (NTP slewing moves it by milliseconds), and jumps when someone or something
    sets the clock. :meth:`check` (once per cycle) compares the offset with the previous check's;
    a change beyond ``threshold_s`` seconds is a step, logged once (warning) and counted per
    direction. Slow drift is never a step: each check becomes the next one's reference."""

    def __init__(self, clock: Clock, threshold_s: float = 1.0):
        self.clock = clock
        self.threshold_s = threshold_s
        self._offset = clock.time() - clock.monotonic()
        self.steps = {"forward": 0, "backward": 0}

    def check(self) -> float | None:
        """The step in seconds (> 0 forward, < 0 backward) since the previous check, or None."""
        offset = self.clock.time() - self.clock.monotonic()
        step, self._offset = offset - self._offset, offset
        if abs(step) <= self.threshold_s:
            return None
        direction = "forward" if step > 0 else "backward"
        self.steps[direction] += 1
        log.warning("wall clock stepped %s by %.3f s (against the monotonic clock)",
                    direction, abs(step))
        return step

    def families(self) -> list[MetricFamily]:
        fam = CLOCK_SPECS[0].family()
        for direction, n in self.steps.items():
            fam.add(n, {"direction": direction})
        return [fam]
