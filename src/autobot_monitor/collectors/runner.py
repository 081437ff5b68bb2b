"""Runs collectors isolated from each other, off the event loop, with a timeout each, each on its
own interval.

One collector that raises or hangs past its timeout is reported as failed in
``autobot_scrape_collector_success{collector}`` (0) and the others still deliver. A hung collector
keeps its worker thread (Python threads cannot be killed); it is skipped, and reported failed, until
that call returns, so hung calls never pile up.

Collectors with ``isolate = False`` (procfs text readers, which never block) run one after the
other in a single worker call sharing the timeout; an exception in one of them fails only that
one. Every other collector gets its own worker call and timeout. All calls of a cycle start
together and are awaited together (one wait, one deadline).

Intervals: a collector with an interval (:meth:`~.base.Collector.interval`, seconds) runs at most
every that many seconds of the runner's monotonic clock (2 % early is on time: cycles jitter);
in the cycles between, the runner re-emits the families of its last run, and its self-metrics
stay those of that run. A collector whose last run failed is reported failed until it runs again,
and nothing of it is re-emitted. Each collector's cost is published: wall time of its last run,
CPU time of all its runs (``time.thread_time`` in the worker, timed-out runs included once they
end) and the seconds between the starts of its last two runs (its effective interval).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ..clock import SYSTEM_CLOCK, Clock
from ..model import MetricFamily
from .base import Collector
from .metrics import SELF_SPECS

log = logging.getLogger(__name__)

EARLY = 0.02  # share of its interval a collector may run early (cycles jitter by milliseconds)


@dataclass
class CollectorResult:
    """Outcome of one collector in one cycle: ``ok``, wall ``duration`` in seconds, ``error``
    text (exception type and message, or ``timeout``), and the families it returned. ``fresh``
    is False when the collector was not due and this is its last run's result again."""

    name: str
    ok: bool
    duration: float
    error: str | None
    families: list[MetricFamily]
    fresh: bool = True


@dataclass
class _Schedule:
    """One collector's interval (seconds, None = every cycle), the monotonic start of its last
    run and the gap between its last two starts, and its last result."""

    interval: float | None
    started: float | None = None
    gap: float | None = None
    last: CollectorResult | None = None


class _Call:
    """One worker call's progress: the index of the collector it runs, and whether the loop gave
    up waiting for it (then it starts no further collector)."""

    __slots__ = ("abandoned", "current", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = -1
        self.abandoned = False


class CollectorRunner:
    """Owns a set of collectors and a thread pool. ``await run()`` runs the due ones concurrently
    and returns ``(families, results)``; ``families`` includes the self-metrics. ``clock`` (its
    monotonic time) decides which collectors are due."""

    def __init__(self, collectors: Sequence[Collector], timeout: float = 5.0,
                 max_workers: int | None = None, clock: Clock = SYSTEM_CLOCK):
        self.collectors = list(collectors)
        self.timeout = timeout
        self.clock = clock
        groups = sum(1 for c in self.collectors if c.isolate) + 1
        self._pool = ThreadPoolExecutor(max_workers=max_workers or groups + 1,
                                        thread_name_prefix="collector")
        self._busy: set[str] = set()  # collectors whose worker call has not reached their end
        self._order = {c.name: i for i, c in enumerate(self.collectors)}
        self._sched = {c.name: _Schedule(c.interval()) for c in self.collectors}
        self.cpu_seconds: dict[str, float] = {c.name: 0.0 for c in self.collectors}

    def _call(self, group: list[Collector], call: _Call) -> list[CollectorResult]:
        out = []
        for i, c in enumerate(group):
            with call.lock:
                if call.abandoned:  # timed out: the loop released the rest of the group
                    break
                call.current = i
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                fams = list(c.collect())
            except Exception as e:  # noqa: BLE001 - isolation is the point
                log.warning("collector %s failed: %s: %s", c.name, type(e).__name__, e)
                out.append(CollectorResult(c.name, False, time.perf_counter() - t0,
                                           f"{type(e).__name__}: {e}", []))
                continue
            finally:  # one worker at a time per collector: no other writer of this key
                self.cpu_seconds[c.name] += time.thread_time() - c0
                self._busy.discard(c.name)
            out.append(CollectorResult(c.name, True, time.perf_counter() - t0, None, fams))
        return out

    def _due(self, c: Collector, now: float) -> bool:
        s = self._sched[c.name]
        return (s.interval is None or s.started is None or s.last is None
                or now - s.started >= s.interval * (1 - EARLY))

    async def _run_groups(self, groups: list[list[Collector]]) -> list[CollectorResult]:
        """Start every group's worker call (without its collectors still stuck in an earlier call),
        then wait for all of them up to the timeout."""
        out: list[CollectorResult] = []
        waiting: dict[asyncio.Future[list[CollectorResult]], tuple[list[Collector], _Call]] = {}
        loop = asyncio.get_running_loop()
        for group in groups:
            free = []
            for c in group:
                if c.name in self._busy:
                    out.append(CollectorResult(c.name, False, 0.0,
                                               "previous run still in progress", []))
                else:
                    free.append(c)
            if not free:
                continue
            self._busy.update(c.name for c in free)
            call = _Call()
            fut = self._pool.submit(self._call, free, call)
            waiting[asyncio.wrap_future(fut, loop=loop)] = (free, call)
        if not waiting:
            return out
        t0 = time.perf_counter()
        done, pending = await asyncio.wait(waiting, timeout=self.timeout)
        for f in done:
            out += f.result()
        for f in pending:
            group, call = waiting[f]
            with call.lock:
                call.abandoned = True
                for c in group[call.current + 1:]:  # never started: free for the next cycle
                    self._busy.discard(c.name)
            log.warning("collector(s) %s timed out after %.1fs",
                        "+".join(c.name for c in group), self.timeout)
            out += [CollectorResult(c.name, False, time.perf_counter() - t0, "timeout", [])
                    for c in group]
        return out

    async def run(self) -> tuple[list[MetricFamily], list[CollectorResult]]:
        now = self.clock.monotonic()
        due = [c for c in self.collectors if self._due(c, now)]
        shared = [c for c in due if not c.isolate]
        groups = [[c] for c in due if c.isolate] + ([shared] if shared else [])
        results = await self._run_groups(groups)
        for r in results:
            s = self._sched[r.name]
            s.last = r
            if r.error != "previous run still in progress":
                s.gap = None if s.started is None else now - s.started
                s.started = now
        ran = {r.name for r in results}
        for c in self.collectors:
            last = self._sched[c.name].last
            if c.name not in ran and last is not None:
                results.append(replace(last, fresh=False))  # a failed one has no families
        results.sort(key=lambda r: self._order.get(r.name, 0))
        families: list[MetricFamily] = []
        for r in results:
            families.extend(r.families)
        return families + self._self_families(results), results

    def _self_families(self, results: list[CollectorResult]) -> list[MetricFamily]:
        dur, ok, cpu, gap = (spec.family() for spec in SELF_SPECS)
        for r in results:
            labels = {"collector": r.name}
            dur.add(r.duration, labels)
            ok.add(1.0 if r.ok else 0.0, labels)
            cpu.add(self.cpu_seconds.get(r.name, 0.0), labels)
            s = self._sched.get(r.name)
            if s is not None and s.gap is not None:
                gap.add(s.gap, labels)
        return [dur, ok, cpu, gap]

    def close(self) -> None:
        for c in self.collectors:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                log.exception("closing collector %s", c.name)
        self._pool.shutdown(wait=False, cancel_futures=True)
