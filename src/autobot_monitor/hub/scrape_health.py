"""Per-target scrape health: failures counted by reason, the last scrapes' outcomes for the host
card ("last scrape failed: timeout (3 of the last 20)"), and a log line per state change (a
target that starts failing, fails for another reason, or recovers), never one per cycle."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from .scrape import ScrapeResult

log = logging.getLogger("autobot_monitor.hub.scrape")

WINDOW = 20  # scrapes kept per target for "N of the last M"

Key = tuple[str, str, str]  # job, instance, host ("" for a plain target)


@dataclass
class _Health:
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))  # True = ok
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count
    last_reason: str | None = None  # None: last scrape ok (or none yet)
    last_error: str | None = None
    duplicates: int = 0  # duplicate samples dropped since the hub started


class ScrapeHealth:
    """Feed it each cycle's results with :meth:`record`; read :meth:`failures` (for
    ``autobot_scrape_failures_total``) and :meth:`status` (for the host card). Targets that
    left the configuration are forgotten at the next :meth:`record`."""

    def __init__(self) -> None:
        self._by_key: dict[Key, _Health] = {}

    @staticmethod
    def key(r: ScrapeResult) -> Key:
        return (r.target.job, r.target.instance, r.target.host or "")

    def record(self, results: list[ScrapeResult]) -> None:
        seen = {}
        for r in results:
            k = self.key(r)
            h = seen[k] = self._by_key.get(k) or _Health()
            before = h.last_reason
            h.recent.append(r.ok)
            if r.duplicates and not h.duplicates:
                log.warning("scrape of %s: %d duplicate samples (same name and labels) dropped,"
                            " the first of each kept", k, r.duplicates)
            h.duplicates += r.duplicates
            if r.ok:
                h.last_reason = h.last_error = None
            else:
                reason = r.reason or "unknown"
                h.failures[reason] = h.failures.get(reason, 0) + 1
                h.last_reason, h.last_error = reason, r.error
            self._transition(k, h, r, before)
        self._by_key = seen

    @staticmethod
    def _transition(k: Key, h: _Health, r: ScrapeResult, before: str | None) -> None:
        """Log when the target's state changes (ok -> failed, failed -> ok, another reason);
        ``before`` is the previous scrape's failure reason (None: it succeeded)."""
        job, instance, host = k
        who = f"{job} {instance}" + (f" (host {host})" if host else "")
        if not r.ok and h.last_reason != before:
            log.warning("scrape of %s failed: %s", who, r.error)
        elif r.ok and before is not None:
            failed = sum(1 for ok in h.recent if not ok)
            log.info("scrape of %s succeeds again (%d of the last %d scrapes failed)", who,
                     failed, len(h.recent))

    def failures(self) -> dict[tuple[str, str, str, str], int]:
        """``{(job, instance, host, reason): failed scrapes since the hub started}``."""
        return {(*k, reason): n for k, h in self._by_key.items() for reason, n in h.failures.items()}

    def duplicates(self) -> dict[Key, int]:
        """``{(job, instance, host): duplicate samples dropped since the hub started}`` for the
        targets that had any."""
        return {k: h.duplicates for k, h in self._by_key.items() if h.duplicates}

    def status(self, r: ScrapeResult) -> tuple[str | None, int, int]:
        """(last error or None when the last scrape succeeded, failed scrapes among the last M,
        M) for the target of ``r`` (after :meth:`record`)."""
        h = self._by_key.get(self.key(r))
        if h is None:
            return None, 0, 0
        return h.last_error, sum(1 for ok in h.recent if not ok), len(h.recent)
