"""Runs every configured service check concurrently, each bounded by its own ``timeout``.

A check that raises is reported down with its (redacted) reason; one that runs past its timeout is
cancelled and reported down with error ``timeout`` and no response time. Checks never wait on each
other, so one hung service delays a cycle by at most its own timeout. A cancelled check that has not
finished unwinding by the next cycle is reported down ("previous check still in progress") rather
than started twice.

Where the time is taken: every check runs on a :class:`~.loop.CheckLoop`, a thread with its own
event loop that runs nothing else, and times only its own I/O there (connect, request, answer). The
hub's event loop only hands the batch over and gets the results back, so however busy it is, its
queue never ends up in a response time.

Up/down transitions are logged (warning when a service goes down, info when it comes back), with
every message redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence

from ..clock import SYSTEM_CLOCK, Clock
from ..config.models import HttpService, RedisService, ServiceConfig, TcpService
from ..model import MetricFamily
from ..secret_registry import redact
from . import http, redis, tcp
from .base import Check, ServiceResult, describe, new_families
from .loop import CheckLoop
from .metrics import ALL_SPECS

log = logging.getLogger(__name__)

def make_check(svc: ServiceConfig, clock: Clock = SYSTEM_CLOCK) -> Check:
    """The :class:`Check` for one service config."""
    if isinstance(svc, HttpService):
        return http.HttpCheck(svc, clock)
    if isinstance(svc, TcpService):
        return tcp.TcpCheck(svc, clock)
    if isinstance(svc, RedisService):
        return redis.RedisCheck(svc, clock)
    raise TypeError(f"unknown service config {type(svc).__name__}")


class ServiceChecker:
    """Owns one :class:`Check` per service (clients are kept between cycles).

    ``await run()`` returns ``(families, results)``: families named in :data:`ALL_SPECS` (only
    those with samples, in declaration order) and one :class:`ServiceResult` per service, in config
    order. ``await aclose()`` releases clients and stops the check thread; the checker is not
    usable afterwards. Checks, their clients and their timeouts all live on the check thread's
    loop (:class:`~.loop.CheckLoop`); only families and results are built on the caller's loop.
    """

    def __init__(self, services: Sequence[ServiceConfig], clock: Clock = SYSTEM_CLOCK):
        self.clock = clock
        self._checks = [make_check(s, clock) for s in services]
        self._inflight: dict[str, asyncio.Task] = {}
        self._last_up: dict[str, bool] = {}
        self._loop = CheckLoop()

    @property
    def services(self) -> list[ServiceConfig]:
        return [c.svc for c in self._checks]

    @property
    def thread(self) -> threading.Thread | None:
        """The thread the checks run on (``None`` before the first :meth:`run`)."""
        return self._loop.thread

    async def _run_one(self, check: Check) -> ServiceResult:
        prev = self._inflight.get(check.name)
        if prev is not None and not prev.done():
            return check.result(False, error="previous check still in progress")
        task = asyncio.create_task(check.check(), name=f"service-check-{check.name}")
        self._inflight[check.name] = task
        try:
            done, _ = await asyncio.wait({task}, timeout=check.svc.timeout)
        except asyncio.CancelledError:
            task.cancel()
            check.reset()
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_consume)
            check.reset()
            return check.result(False, error="timeout")
        try:
            result = task.result()
        except Exception as e:  # noqa: BLE001 - isolation is the point
            return check.result(False, error=describe(e))
        result.error = redact(result.error)
        return result

    def _log_transition(self, r: ServiceResult) -> None:
        before = self._last_up.get(r.name)
        self._last_up[r.name] = r.up
        if before is not None and before == r.up:
            return
        if r.up:
            if before is not None:
                log.info("service %s (%s) is up again", r.name, r.type)
        else:
            log.warning("service %s (%s) is down: %s", r.name, r.type, redact(r.error))

    async def _run_all(self) -> list[ServiceResult]:
        """On the check loop: every check at once, in config order."""
        return list(await asyncio.gather(*(self._run_one(c) for c in self._checks)))

    async def run(self) -> tuple[list[MetricFamily], list[ServiceResult]]:
        results = await self._loop.run(self._run_all()) if self._checks else []
        fams = new_families(ALL_SPECS)
        for check, r in zip(self._checks, results, strict=True):
            self._log_transition(r)
            labels = {"service": r.name, "type": r.type}
            fams["autobot_service_up"].add(1.0 if r.up else 0.0, labels)
            if r.response_time_seconds is not None:
                fams["autobot_service_response_time_seconds"].add(r.response_time_seconds, labels)
            try:
                check.emit(r, fams)
            except Exception:  # noqa: BLE001 - a bad figure must not lose the other families
                log.exception("emitting figures of service %s", r.name)
        return [f for f in fams.values() if f.samples], results

    async def aclose(self) -> None:
        if self._loop.thread is not None:
            await self._loop.run(self._aclose_checks())
        await self._loop.aclose()

    async def _aclose_checks(self) -> None:
        """On the check loop: cancel checks in flight, close every client."""
        pending = [t for t in self._inflight.values() if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        for c in self._checks:
            try:
                await c.aclose()
            except Exception:  # noqa: BLE001
                log.exception("closing check %s", c.name)


def _consume(task: asyncio.Task) -> None:
    """Retrieve a cancelled check's outcome so asyncio does not log 'exception never retrieved'."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
