"""Runs collectors isolated from each other, off the event loop, with a timeout each.

One collector that raises or hangs past its timeout is reported as failed in
``autobot_scrape_collector_success{collector}`` (0) and the others still deliver. A hung collector
keeps its worker thread (Python threads cannot be killed); it is skipped, and reported failed, until
that call returns, so hung calls never pile up.

Collectors with ``isolate = False`` (procfs text readers, which never block) run one after the
other in a single worker call sharing the timeout; an exception in one of them fails only that
one. Every other collector gets its own worker call and timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..model import MetricFamily
from .base import Collector
from .metrics import SELF_SPECS

log = logging.getLogger(__name__)


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
        groups = sum(1 for c in self.collectors if c.isolate) + 1
        self._pool = ThreadPoolExecutor(max_workers=max_workers or groups + 1,
                                        thread_name_prefix="collector")
        self._inflight: dict[str, Future] = {}

    @staticmethod
    def _call(group: list[Collector]) -> list[CollectorResult]:
        out = []
        for c in group:
            t0 = time.perf_counter()
            try:
                fams = list(c.collect())
            except Exception as e:  # noqa: BLE001 - isolation is the point
                log.warning("collector %s failed: %s: %s", c.name, type(e).__name__, e)
                out.append(CollectorResult(c.name, False, time.perf_counter() - t0,
                                           f"{type(e).__name__}: {e}", []))
                continue
            out.append(CollectorResult(c.name, True, time.perf_counter() - t0, None, fams))
        return out

    async def _run_group(self, key: str, group: list[Collector]) -> list[CollectorResult]:
        prev = self._inflight.get(key)
        if prev is not None and not prev.done():
            return [CollectorResult(c.name, False, 0.0, "previous run still in progress", [])
                    for c in group]
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        fut = self._pool.submit(self._call, group)
        self._inflight[key] = fut
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut, loop=loop), self.timeout)
        except TimeoutError:
            log.warning("collector(s) %s timed out after %.1fs", key, self.timeout)
            return [CollectorResult(c.name, False, time.perf_counter() - t0, "timeout", [])
                    for c in group]

    async def run(self) -> tuple[list[MetricFamily], list[CollectorResult]]:
        shared = [c for c in self.collectors if not c.isolate]
        calls = [self._run_group(c.name, [c]) for c in self.collectors if c.isolate]
        if shared:
            calls.append(self._run_group("+".join(c.name for c in shared), shared))
        results = [r for group in await asyncio.gather(*calls) for r in group]
        order = {c.name: i for i, c in enumerate(self.collectors)}
        results.sort(key=lambda r: order.get(r.name, 0))
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
