"""When the hub's next cycle starts: every ``monitoring_interval`` seconds on the monotonic clock.

A cycle that runs past its slot (a hung target's timeout plus CPU load) does not cost a whole
interval: the next cycle starts at once (one catch-up, never a burst of the missed slots) and the
schedule restarts from there. Skipping to ``now + interval`` instead would leave a ~2 x interval
gap in every series, which readers call a hole. Overruns are counted
(``autobot_hub_cycles_overrun_total``) and logged once per state change (falling behind, back on
time), never once per cycle.
"""

from __future__ import annotations

import logging

from ..clock import Clock
from ..model import MetricFamily
from .metrics import SCHEDULE_SPECS

log = logging.getLogger(__name__)


class CycleSchedule:
    """``delay()``: seconds until the next cycle is due (<= 0: start now); call ``done(interval)``
    after each cycle. ``first_after`` seconds before the first cycle."""

    def __init__(self, clock: Clock, first_after: float = 1.0):
        self.clock = clock
        self.next_at = clock.monotonic() + first_after
        self.overruns = 0
        self._behind = False

    def delay(self) -> float:
        return self.next_at - self.clock.monotonic()

    def done(self, interval: float) -> None:
        """The cycle that was due at ``next_at`` ended: the next is due ``interval`` seconds
        after it, or now if that moment has passed (counted as an overrun)."""
        now = self.clock.monotonic()
        self.next_at += interval
        late = now - self.next_at
        behind = late > 0
        if behind:
            self.overruns += 1
            self.next_at = now
        if behind != self._behind:
            if behind:
                log.warning("a cycle ran %.3g s past the next slot (interval %.3g s): the next "
                            "cycle starts at once, not a slot later", late, interval)
            else:
                log.info("cycles are back on schedule (%d overran so far)", self.overruns)
            self._behind = behind

    def families(self) -> list[MetricFamily]:
        fam = SCHEDULE_SPECS[0].family()
        fam.add(self.overruns)
        return [fam]
