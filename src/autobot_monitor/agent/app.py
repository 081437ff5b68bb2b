"""Agent: a collection loop plus a tiny Starlette app serving the latest results.

The loop runs every collector each ``interval`` seconds (monotonic schedule) and renders the
exposition bytes and the JSON snapshot once; requests return those bytes, so a scrape costs almost
nothing and never triggers collection. Starlette (not FastAPI) keeps the agent's memory small.

One interval: the hub names its cycle in the ``X-Autobot-Scrape-Interval-Seconds`` header of each
scrape, and the agent collects on that interval from then on, so CPU % and every rate cover the
hub's cycle. Without the header (a standalone agent scraped by Prometheus or curl) the agent keeps
its own ``--interval``; a scrape never triggers a collection either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..clock import SYSTEM_CLOCK, Clock
from ..collectors.runner import CollectorRunner
from ..exposition import CONTENT_TYPE, INTERVAL_HEADER, render
from ..model import MetricFamily

log = logging.getLogger(__name__)

# HTTP keep-alive of the agent's server, seconds: longer than the hub keeps an idle pooled
# connection (hub.scrape.POOL_KEEPALIVE_SECONDS, 30 s), so the agent never closes a connection
# the hub is about to reuse. uvicorn's default (5 s) equalled a 5 s scrape interval and lost
# 13-20 % of scrapes to that race.
KEEP_ALIVE_SECONDS = 75
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.5, 3600.0  # a header value outside is ignored
FOLLOW_AFTER = 3  # scrapes in a row naming one interval before the agent adopts it
MIN_CHANGE_GAP_S = 60.0  # the adopted interval changes at most this often


@dataclass
class AgentSnapshot:
    """One collection: exposition bytes rendered at once; the JSON snapshot rendered on first
    request (most agents are only ever scraped) and cached. ``window_s``: monotonic seconds
    since the previous collection, the window of its rates (None for the first)."""

    timestamp: float
    metrics: bytes
    families: list[MetricFamily]
    collectors: dict
    hostname: str
    interval_s: float = 0.0
    window_s: float | None = None
    _json: bytes | None = None

    def snapshot_json(self) -> bytes:
        if self._json is None:
            doc = {"host": self.hostname, "timestamp": self.timestamp, "version": __version__,
                   "interval_seconds": self.interval_s, "window_seconds": self.window_s,
                   "collectors": self.collectors, "families": [f.to_json() for f in self.families]}
            self._json = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        return self._json


def scrape_interval(headers: Mapping[str, str]) -> float | None:
    """The scraper's interval in seconds from :data:`INTERVAL_HEADER`, or None when absent or
    not a number in [MIN_INTERVAL_S, MAX_INTERVAL_S]."""
    raw = headers.get(INTERVAL_HEADER)
    try:
        v = float(raw) if raw is not None else math.nan
    except ValueError:
        return None
    return v if MIN_INTERVAL_S <= v <= MAX_INTERVAL_S else None


class Agent:
    """Collection loop around a :class:`CollectorRunner`. ``hostname`` goes into the snapshot
    only (exposition carries no host label: the scraper adds it). ``interval`` (seconds) until a
    scraper names its own (:meth:`follow`); ``clock`` times collections and stamps snapshots."""

    def __init__(self, runner: CollectorRunner, interval: float = 5.0, hostname: str | None = None,
                 mesh=None, clock: Clock = SYSTEM_CLOCK):
        self.runner = runner
        self.mesh = mesh  # optional agent.mesh.Mesh: its families join each collection
        self.interval = interval
        self.hostname = hostname or socket.gethostname()
        self.clock = clock
        self.snapshot: AgentSnapshot | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._last_at: float | None = None  # monotonic time of the last collection
        self._next_at: float = clock.monotonic() + min(1.0, interval)
        # interval a scraper names, how many scrapes in a row named it, when the last one did
        self._candidate: float | None = None
        self._votes, self._vote_at = 0, 0.0
        self._changed_at: float | None = None  # monotonic time the interval last changed

    def follow(self, interval_s: float) -> None:
        """A scrape named ``interval_s`` (the hub's cycle). The agent adopts it once
        :data:`FOLLOW_AFTER` scrapes in a row named it, each at least half of it after the
        previous (spaced like a scraper at that interval), at most once per
        :data:`MIN_CHANGE_GAP_S`; the next collection is then due ``interval_s`` after the last.
        So one request, or a client flipping values, changes nothing, and a second scraper
        with another interval keeps the agent on its current one. Logged when adopted."""
        now = self.clock.monotonic()
        if interval_s != self._candidate:
            self._candidate, self._votes, self._vote_at = interval_s, 1, now
            return
        if now - self._vote_at < interval_s / 2:  # not the spacing of a scraper at that interval
            return
        self._votes, self._vote_at = self._votes + 1, now
        if (self._votes < FOLLOW_AFTER or interval_s == self.interval
                or (self._changed_at is not None and now - self._changed_at < MIN_CHANGE_GAP_S)):
            return
        log.info("collecting every %gs, the interval of the hub scraping this agent (was %gs)",
                 interval_s, self.interval)
        self.interval, self._changed_at = interval_s, now
        if self._last_at is not None:
            self._next_at = self._last_at + interval_s
        self._wake.set()

    async def collect_once(self) -> AgentSnapshot:
        now, mono = self.clock.time(), self.clock.monotonic()
        families, results = await self.runner.run()
        if self.mesh is not None:
            families = [*families, *self.mesh.families()]
        window = mono - self._last_at if self._last_at is not None else None
        self._last_at = mono
        snap = await asyncio.to_thread(self._render, now, families, results, window)
        self.snapshot = snap
        return snap

    def _render(self, now: float, families: list[MetricFamily], results,
                window: float | None) -> AgentSnapshot:
        collectors = {r.name: {"ok": r.ok, "duration_seconds": r.duration, "error": r.error}
                      for r in results}
        return AgentSnapshot(now, render(families), families, collectors, self.hostname,
                             self.interval, window)

    async def tick(self) -> float:
        """Collect if due (a failed collection is logged, the schedule goes on); returns the
        seconds until the next collection is due. Behind schedule: one collection now, then
        ``interval`` from it (no burst)."""
        now = self.clock.monotonic()
        if now < self._next_at:
            return self._next_at - now
        due, interval = self._next_at, self.interval
        try:
            await self.collect_once()
        except Exception:  # noqa: BLE001 - keep collecting
            log.exception("agent collection failed")
        if self.interval != interval and self._last_at is not None:  # followed meanwhile
            self._next_at = self._last_at + self.interval
        else:
            self._next_at = due + self.interval
        now = self.clock.monotonic()
        if self._next_at < now:
            self._next_at = now + self.interval
        return self._next_at - now

    async def run_forever(self) -> None:
        """Collect on schedule until :meth:`stop`. The first collection comes one second (at
        most one interval) after priming the collectors, so it already has rates."""
        await self.runner.run()
        self._last_at = self.clock.monotonic()
        self._next_at = self._last_at + min(1.0, self.interval)
        while not self._stop.is_set():
            self._wake.clear()
            delay = await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait(), max(0.0, delay))

    async def _wait(self) -> None:
        """Until stopped or :meth:`follow` changed the interval."""
        stop = asyncio.ensure_future(self._stop.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stop, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()

    def stop(self) -> None:
        self._stop.set()


def create_agent_app(agent: Agent, token: str | None = None, throughput=None) -> Starlette:
    """Routes: ``/metrics`` (text 0.0.4), ``/api/v1/snapshot`` (JSON), ``/healthz``, and with a
    ``throughput`` (:class:`~.throughput.ThroughputService`) ``GET /api/v1/throughput/stream`` and
    ``POST /api/v1/throughput``. Before the first collection finishes, /metrics and
    /api/v1/snapshot answer 503. With a ``token``, every route but /healthz needs
    ``Authorization: Bearer <token>`` (constant-time compare), else 401 ``{"error": ...}``."""
    expected = f"Bearer {token}".encode() if token else None

    def guarded(handler):
        if expected is None:
            return handler

        async def check(req: Request) -> Response:
            got = req.headers.get("authorization", "").encode()
            if not hmac.compare_digest(got, expected):
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
            return await handler(req)
        return check

    async def metrics(req: Request) -> Response:
        interval = scrape_interval(req.headers)
        if interval is not None:
            agent.follow(interval)
        snap = agent.snapshot
        if snap is None:
            return Response("no collection yet\n", status_code=503, media_type="text/plain")
        return Response(snap.metrics, media_type=CONTENT_TYPE)

    async def snapshot(_: Request) -> Response:
        snap = agent.snapshot
        if snap is None:
            return JSONResponse({"error": "no collection yet"}, status_code=503)
        body = await asyncio.to_thread(snap.snapshot_json)
        return Response(body, media_type="application/json")

    async def healthz(_: Request) -> Response:
        snap = agent.snapshot
        return JSONResponse({"status": "ok", "version": __version__,
                             "last_collection": snap.timestamp if snap else None})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop_task = asyncio.create_task(agent.run_forever())
        mesh_task = asyncio.create_task(agent.mesh.run_forever()) if agent.mesh else None
        yield
        agent.stop()
        if mesh_task is not None:
            agent.mesh.stop()
        await asyncio.wait({loop_task} | ({mesh_task} if mesh_task else set()), timeout=5)
        agent.runner.close()

    routes = [Route("/metrics", guarded(metrics)), Route("/api/v1/snapshot", guarded(snapshot)),
              Route("/healthz", healthz)]
    if throughput is not None:
        routes += [Route("/api/v1/throughput/stream", guarded(throughput.stream)),
                   Route("/api/v1/throughput", guarded(throughput.run_to_peer), methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan)
