"""Runs collectors isolated from each other, off the event loop, with a timeout each.

One collector that raises or hangs past its timeout is reported as failed in
``autobot_scrape_collector_success{collector}`` (0) and the others still deliver. A hung collector
keeps its worker thread (Python threads cannot be killed); it is skipped, and reported failed, until
that call returns, so hung calls never pile up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..model import MetricFamily, MetricSpec
from .base import Collector

log = logging.getLogger(__name__)

SELF_SPECS = (
    MetricSpec("autobot_scrape_collector_duration_seconds", "gauge",
               "Wall time the collector's last run took.", "seconds", ("collector",)),
    MetricSpec("autobot_scrape_collector_success", "gauge",
               "1 if the collector's last run succeeded, 0 if it raised or timed out.",
               "", ("collector",)),
)


@dataclass
class CollectorResult:
    """Outcome of one collector in one cycle: ``ok``, wall ``duration`` in seconds, ``error``
    text (exception type and message, or ``timeout``), and the families it returned."""

    name: str
    ok: bool
    duration: float
    error: str | None
    families: list[MetricFamily]


class CollectorRunner:
    """Owns a set of collectors and a thread pool. ``await run()`` runs all of them concurrently
    and returns ``(families, results)``; ``families`` includes the self-metrics."""

    def __init__(self, collectors: Sequence[Collector], timeout: float = 5.0,
                 max_workers: int | None = None):
        self.collectors = list(collectors)
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_workers or max(4, len(self.collectors)),
                                        thread_name_prefix="collector")
        self._inflight: dict[str, Future] = {}

    def _call(self, c: Collector) -> tuple[list[MetricFamily], float]:
        t0 = time.perf_counter()
        fams = list(c.collect())
        return fams, time.perf_counter() - t0

    async def _run_one(self, c: Collector) -> CollectorResult:
        prev = self._inflight.get(c.name)
        if prev is not None and not prev.done():
            return CollectorResult(c.name, False, 0.0, "previous run still in progress", [])
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        fut = self._pool.submit(self._call, c)
        self._inflight[c.name] = fut
        try:
            fams, dur = await asyncio.wait_for(asyncio.wrap_future(fut, loop=loop), self.timeout)
            return CollectorResult(c.name, True, dur, None, fams)
        except TimeoutError:
            log.warning("collector %s timed out after %.1fs", c.name, self.timeout)
            return CollectorResult(c.name, False, time.perf_counter() - t0, "timeout", [])
        except Exception as e:  # noqa: BLE001 - isolation is the point
            log.warning("collector %s failed: %s: %s", c.name, type(e).__name__, e)
            return CollectorResult(c.name, False, time.perf_counter() - t0,
                                   f"{type(e).__name__}: {e}", [])

    async def run(self) -> tuple[list[MetricFamily], list[CollectorResult]]:
        results = await asyncio.gather(*(self._run_one(c) for c in self.collectors))
        families: list[MetricFamily] = []
        dur = SELF_SPECS[0].family()
        ok = SELF_SPECS[1].family()
        for r in results:
            families.extend(r.families)
            dur.add(r.duration, {"collector": r.name})
            ok.add(1.0 if r.ok else 0.0, {"collector": r.name})
        families += [dur, ok]
        return families, list(results)

    def close(self) -> None:
        for c in self.collectors:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                log.exception("closing collector %s", c.name)
        self._pool.shutdown(wait=False, cancel_futures=True)
