"""Runs collectors isolated from each other, off the event loop, with a timeout each, each on its
own interval.

One collector that raises or hangs past its timeout is reported as failed in
``autobot_scrape_collector_success{collector}`` (0) and the others still deliver. A hung collector
keeps its worker thread (Python threads cannot be killed); it is skipped, and reported failed, until
that call returns, so hung calls never pile up.

Thread hand-offs cost more CPU than most collectors (each wakes a thread and the event loop), so
a cycle makes one worker call for every collector that runs each cycle, not one per
collector: the ``isolate = False`` ones (procfs text readers, which never block) first, then the
rest, one after the other; the loop waits once. (Two such calls in parallel cost 2.5 ms more CPU
per cycle than the 4.5 ms the collectors themselves take on this project's 2-vCPU VM: threads
handing the GIL back and forth.) A collector with an interval of its own (SMART, systemd,
containers) gets a call of its own in the cycles it is due, so its slower run overlaps the
others instead of adding to them. Each collector
still has its own timeout from its own start: when one overruns it, it is reported timed out,
its call is abandoned (it starts nothing more) and the rest of its chain goes on at once in a
new call. An exception fails only the collector that raised it.

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
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
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
    """One worker call running a chain of collectors one after the other: the index of the one
    it runs and when that one started (``perf_counter``; the submission time until the first
    starts), the results so far, and whether the loop gave up on it (then it starts no further
    collector and keeps no further result)."""

    __slots__ = ("abandoned", "current", "lock", "results", "started")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = -1
        self.started = time.perf_counter()
        self.abandoned = False
        self.results: list[CollectorResult] = []


class DaemonPool:
    """At most ``max_workers`` daemon threads running submitted calls (a thread is started only
    when none is idle). Unlike ``ThreadPoolExecutor``, whose threads the interpreter joins at
    exit, a collector stuck in the kernel (a FIFO, a dead NFS mount, a wedged driver) never
    holds up the process's shutdown: its thread simply dies with the process."""

    def __init__(self, max_workers: int, name: str) -> None:
        self._max, self._name = max_workers, name
        self._jobs: queue.SimpleQueue[tuple[Future[None], Callable[..., None], tuple[object, ...]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., None], *args: object) -> Future[None]:
        """Run ``fn(*args)`` on a worker; the future holds its result or exception. Raises
        RuntimeError after :meth:`shutdown`."""
        fut: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is shut down")
            if self._idle == 0 and self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._work, name=f"{self._name}_{self._threads}",
                                 daemon=True).start()
            else:
                self._idle -= 1 if self._idle else 0
        self._jobs.put((fut, fn, args))
        return fut

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, fn, args = job
            if fut.set_running_or_notify_cancel():
                try:
                    fn(*args)
                    fut.set_result(None)
                except BaseException as e:  # noqa: BLE001 - handed to the waiter
                    fut.set_exception(e)
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """No more submissions; idle workers end, a busy one ends when its call returns."""
        with self._lock:
            self._closed = True
            n = self._threads
        for _ in range(n):
            self._jobs.put(None)


class CollectorRunner:
    """Owns a set of collectors and a thread pool. ``await run()`` runs the due ones concurrently
    and returns ``(families, results)``; ``families`` includes the self-metrics. ``clock`` (its
    monotonic time) decides which collectors are due."""

    def __init__(self, collectors: Sequence[Collector], timeout: float = 5.0,
                 max_workers: int | None = None, clock: Clock = SYSTEM_CLOCK):
        self.collectors = list(collectors)
        self.timeout = timeout
        self.clock = clock
        # two chains, plus a thread for each collector that may hang at a time
        self._pool = DaemonPool(max_workers or len(self.collectors) + 2, "collector")
        self._busy: set[str] = set()  # collectors whose worker call has not reached their end
        self._order = {c.name: i for i, c in enumerate(self.collectors)}
        self._sched = {c.name: _Schedule(c.interval()) for c in self.collectors}
        self.cpu_seconds: dict[str, float] = {c.name: 0.0 for c in self.collectors}

    def _call(self, chain: list[Collector], call: _Call) -> None:
        for i, c in enumerate(chain):
            with call.lock:
                if call.abandoned:
                    return
                call.current, call.started = i, time.perf_counter()
            result = self._collect(c)
            with call.lock:
                if call.abandoned:  # reported as timed out meanwhile
                    return
                call.results.append(result)
                call.started = time.perf_counter()

    def _collect(self, c: Collector) -> CollectorResult:
        """Run one collector (in a worker thread); its CPU time is added to :attr:`cpu_seconds`
        and it is no longer busy once it returns, whatever the loop gave up on."""
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            fams = list(c.collect())
        except Exception as e:  # noqa: BLE001 - isolation is the point
            log.warning("collector %s failed: %s: %s", c.name, type(e).__name__, e)
            return CollectorResult(c.name, False, time.perf_counter() - t0,
                                   f"{type(e).__name__}: {e}", [])
        finally:  # one worker at a time per collector: no other writer of this key
            self.cpu_seconds[c.name] += time.thread_time() - c0
            self._busy.discard(c.name)
        return CollectorResult(c.name, True, time.perf_counter() - t0, None, fams)

    def _due(self, c: Collector, now: float) -> bool:
        s = self._sched[c.name]
        return (s.interval is None or s.started is None or s.last is None
                or now - s.started >= s.interval * (1 - EARLY))

    async def _run_chains(self, chains: list[list[Collector]]) -> list[CollectorResult]:
        """Run each chain in one worker call, the chains in parallel, and wait until all are
        done. A collector still running ``timeout`` seconds after it started is reported timed
        out and its call abandoned; the rest of its chain goes on at once in a new call. A
        collector still busy from an earlier cycle is skipped (reported failed)."""
        out: list[CollectorResult] = []
        pending: dict[asyncio.Future[None], tuple[list[Collector], _Call]] = {}
        loop = asyncio.get_running_loop()

        def submit(chain: list[Collector]) -> None:
            free = [c for c in chain if c.name not in self._busy]
            out.extend(CollectorResult(c.name, False, 0.0, "previous run still in progress", [])
                       for c in chain if c.name in self._busy)
            if free:
                self._busy.update(c.name for c in free)
                call = _Call()
                fut = self._pool.submit(self._call, free, call)
                pending[asyncio.wrap_future(fut, loop=loop)] = (free, call)

        for chain in chains:
            submit(chain)
        while pending:
            first = min(call.started for _, call in pending.values())
            done, _ = await asyncio.wait(pending, timeout=max(0.0, first + self.timeout
                                                              - time.perf_counter()))
            for f in done:
                out += pending.pop(f)[1].results
            now = time.perf_counter()
            for f, (chain, call) in list(pending.items()):
                with call.lock:
                    if now - call.started < self.timeout:
                        continue
                    call.abandoned = True
                    n = len(call.results)
                    out += call.results
                    running = call.current == n  # the one after the delivered ones started
                del pending[f]
                if call.current < 0:  # nothing started: no thread was free for the chain
                    self._busy.difference_update(c.name for c in chain)
                    log.warning("collector(s) %s timed out waiting %.1fs for a thread",
                                "+".join(c.name for c in chain), self.timeout)
                    out += [CollectorResult(c.name, False, now - call.started, "timeout", [])
                            for c in chain]
                    continue
                if running:  # stays busy until its collect() returns
                    log.warning("collector %s timed out after %.1fs", chain[n].name,
                                self.timeout)
                    out.append(CollectorResult(chain[n].name, False, now - call.started,
                                               "timeout", []))
                    n += 1
                self._busy.difference_update(c.name for c in chain[n:])
                submit(chain[n:])  # the rest of the chain, in a new call
        return out

    async def run(self) -> tuple[list[MetricFamily], list[CollectorResult]]:
        now = self.clock.monotonic()
        due = [c for c in self.collectors if self._due(c, now)]
        # a collector on its own interval (subprocesses, cgroup walks) gets its own call, so a
        # slow run of it does not hold up the every-cycle ones in the isolated chain
        # The every-cycle ones run in ONE call, procfs readers first: two calls in parallel
        # cost 2.5 ms more CPU per cycle here (GIL hand-offs) than the 4.5 ms the collectors
        # take; a hung one is given up after its own timeout and the rest of the chain goes on.
        slow = [c for c in due if c.isolate and self._sched[c.name].interval is not None]
        chains = [[c for c in due if not c.isolate] + [c for c in due if c.isolate and c not in slow],
                  *([c] for c in slow)]
        results = await self._run_chains([ch for ch in chains if ch])
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
        self._pool.shutdown()
