"""Agent: a collection loop plus a tiny Starlette app serving the latest results.

The loop runs every collector each ``interval`` seconds (monotonic schedule) and renders the
exposition bytes and the JSON snapshot once; requests return those bytes, so a scrape costs almost
nothing and never triggers collection. Starlette (not FastAPI) keeps the agent's memory small.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..collectors.runner import CollectorRunner
from ..exposition import CONTENT_TYPE, render
from ..model import MetricFamily

log = logging.getLogger(__name__)

# HTTP keep-alive of the agent's server, seconds: longer than the hub keeps an idle pooled
# connection (hub.scrape.POOL_KEEPALIVE_SECONDS, 30 s), so the agent never closes a connection
# the hub is about to reuse. uvicorn's default (5 s) equalled a 5 s scrape interval and lost
# 13-20 % of scrapes to that race.
KEEP_ALIVE_SECONDS = 75


@dataclass
class AgentSnapshot:
    """One collection: exposition bytes rendered at once; the JSON snapshot rendered on first
    request (most agents are only ever scraped) and cached."""

    timestamp: float
    metrics: bytes
    families: list[MetricFamily]
    collectors: dict
    hostname: str
    _json: bytes | None = None

    def snapshot_json(self) -> bytes:
        if self._json is None:
            doc = {"host": self.hostname, "timestamp": self.timestamp, "version": __version__,
                   "collectors": self.collectors, "families": [f.to_json() for f in self.families]}
            self._json = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        return self._json


class Agent:
    """Collection loop around a :class:`CollectorRunner`. ``hostname`` goes into the snapshot
    only (exposition carries no host label: the scraper adds it)."""

    def __init__(self, runner: CollectorRunner, interval: float = 5.0, hostname: str | None = None,
                 mesh=None):
        self.runner = runner
        self.mesh = mesh  # optional agent.mesh.Mesh: its families join each collection
        self.interval = interval
        self.hostname = hostname or socket.gethostname()
        self.snapshot: AgentSnapshot | None = None
        self._stop = asyncio.Event()

    async def collect_once(self) -> AgentSnapshot:
        now = time.time()
        families, results = await self.runner.run()
        if self.mesh is not None:
            families = [*families, *self.mesh.families()]
        snap = await asyncio.to_thread(self._render, now, families, results)
        self.snapshot = snap
        return snap

    def _render(self, now: float, families: list[MetricFamily], results) -> AgentSnapshot:
        collectors = {r.name: {"ok": r.ok, "duration_seconds": r.duration, "error": r.error}
                      for r in results}
        return AgentSnapshot(now, render(families), families, collectors, self.hostname)

    async def run_forever(self) -> None:
        await self.runner.run()  # prime counters so the first snapshot has rates
        await asyncio.sleep(min(1.0, self.interval))
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self._stop.is_set():
            try:
                await self.collect_once()
            except Exception:  # noqa: BLE001 - keep collecting
                log.exception("agent collection failed")
            next_at += self.interval
            if next_at < loop.time():
                next_at = loop.time() + self.interval
            try:
                await asyncio.wait_for(self._stop.wait(), max(0.0, next_at - loop.time()))
            except TimeoutError:
                pass

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

    async def metrics(_: Request) -> Response:
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
