"""The hub's ASGI app: REST API, WebSocket, Prometheus exposition, health.

Every read endpoint answers from the hub's latest :class:`~..hub.service.Snapshot` (bytes rendered
once per cycle) or from the store in a worker thread: no request ever runs a probe, and nothing
blocking runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import QueryError, StoreError
from ..exposition import CONTENT_TYPE
from ..logs import dropped_records
from ..matchers import Matcher, parse_matchers
from ..model import METRIC_NAME_RE, json_number
from ..store import MAX_POINTS

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


class BadRequest(Exception):
    """A request parameter is invalid; answered 400 with ``{"error": message}``."""


MAX_TIME = 95_617_584_000.0  # 5000-01-01: far enough, small enough for millisecond integers
MAX_SPAN = 100 * 365 * 86400.0


def parse_duration(text: str, what: str) -> float:
    """``"30"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"7d"`` -> seconds. Raises :class:`BadRequest`."""
    m = _DURATION_RE.match(text.strip())
    if not m:
        raise BadRequest(f"{what}: expected seconds or a duration like 30s, 5m, 1h, got {text!r}")
    v = float(m.group(1)) * _UNITS[m.group(2)]
    if not 0 < v <= MAX_SPAN:
        raise BadRequest(f"{what}: must be more than 0 and at most {MAX_SPAN:.0f} seconds")
    return v


def parse_time(text: str, what: str, now: float) -> float:
    """Unix seconds, RFC 3339 (``2026-11-29T16:00:00Z``), ``now`` or ``now-1h``."""
    t = text.strip()
    if t == "now":
        return now
    if t.startswith("now-"):
        return now - parse_duration(t[4:], what)
    try:
        v = float(t)
    except ValueError:
        try:
            v = datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise BadRequest(f"{what}: expected Unix seconds, RFC 3339 or now-DURATION, got {text!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_TIME):
        raise BadRequest(f"{what}: must be a time between 1970 and the year 5000")
    return v


def _json(body: bytes, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type="application/json")


class SnapshotFastPath:
    """Pure-ASGI fast path for the snapshot reads: a plain ``GET`` (no query string) of
    ``/api/metrics/current``, ``/api/system/status``, ``/metrics`` or ``/api/monitoring/metrics``
    is answered with the snapshot's pre-rendered bytes without FastAPI's routing, dependency and
    validation layers (about half of a request's CPU). Everything else, these paths with a query
    string (``?full=1``) included, goes to the FastAPI app, which still documents these routes
    in ``/openapi.json`` and answers them identically (same status, body, content type).
    Sits inside :class:`~.auth.AuthMiddleware`, so access control and the access log apply."""

    def __init__(self, app, hub):
        self.app, self.hub = app, hub
        json_type, text_type = b"application/json", CONTENT_TYPE.encode()
        self.routes = {"/api/metrics/current": ("current_json", json_type),
                       "/api/system/status": ("status_json", json_type),
                       "/metrics": ("metrics_text", text_type),
                       "/api/monitoring/metrics": ("metrics_text", text_type)}

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope.get("path")) if scope["type"] == "http" else None
        if route is None or scope.get("method") != "GET" or scope.get("query_string"):
            return await self.app(scope, receive, send)
        body = getattr(self.hub.snapshot, route[0])
        if isinstance(body, str):
            body = body.encode()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(body)).encode()), (b"content-type", route[1]),
            (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})
        return None


def create_app(hub, listen_host: str | None = None) -> FastAPI:  # noqa: C901 - route table
    """Build the app around a started :class:`~..hub.service.Hub`. ``listen_host``: the address
    the server listens on (default the config's ``dashboard_host``), which ``Host`` headers may
    name besides loopback and ``auth.allowed_hosts``."""
    # docs_url/redoc_url off: their pages load Swagger/ReDoc from a CDN, and nothing the hub
    # serves may load from the internet. The schema stays at /openapi.json.
    # telemetry off: the hub exports no OpenTelemetry, and FastAPI would otherwise look its
    # providers up on every request.
    app = FastAPI(title="autobot-monitor", version=__version__, docs_url=None, redoc_url=None,
                  description="Prometheus-native performance monitoring: hub API.",
                  telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """Malformed parameters or bodies: 400 with one readable message, like every other
        refusal of this API (FastAPI's default is 422 with a list)."""
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path"))
            parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
        return JSONResponse({"error": "; ".join(parts)[:1000]}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        """Unknown routes (404), wrong methods (405) and other HTTP errors raised by the framework
        answer like the API's own refusals: ``{"error": detail}`` (FastAPI's is ``{"detail"}``)."""
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(BadRequest)
    async def _bad(_: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/healthz", summary="Liveness: the hub is up, when its last cycle ran and how many "
             "log records were dropped on full log queues; 503 with the reason when its data dir "
             "went from under it")
    async def healthz() -> JSONResponse:
        ts = hub.snapshot.timestamp or None
        problem = getattr(hub, "data_dir_problem", None)
        if problem:
            return JSONResponse({"status": "unhealthy", "reason": problem, "version": __version__,
                                 "last_cycle": ts}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "last_cycle": ts,
                             "log_records_dropped": dropped_records()})

    @app.post("/api/admin/reload", summary="Re-read the config file (as SIGHUP); a bad file is "
              "refused with its problems and the running config stays")
    async def reload() -> JSONResponse:
        problems = await hub.reload()
        if problems:
            return JSONResponse({"error": "config refused", "problems": problems}, status_code=400)
        return JSONResponse({"status": "reloaded", "config": hub.config_path})

    @app.get("/api/metrics/current", summary="Latest collected figures per host and service")
    async def current(full: bool = False) -> Response:
        snap = hub.snapshot
        return _json(snap.current_full_json if full else snap.current_json)

    @app.get("/api/system/status", summary="Health per host and service, availability, health score")
    async def status() -> Response:
        return _json(hub.snapshot.status_json)

    @app.get("/api/metrics/names", summary="Every stored metric name")
    async def names() -> dict:
        return {"metrics": await asyncio.to_thread(hub.store.metric_names)}

    @app.get("/api/metrics/history", summary="Stored history of one metric over a range",
             description="Points are [step_start, value]; a step inside a hole of the series (a "
                         "missed scrape, a target down, the hub not running) is [t, null], never "
                         "a carried or interpolated value; no rate is computed across a hole.")
    async def history(
        metric: Annotated[str, Query(description="metric name, e.g. autobot_cpu_busy_percent")],
        host: Annotated[str | None, Query(description="host label to match")] = None,
        start: Annotated[str | None, Query(description="Unix seconds, RFC 3339 or now-1h")] = None,
        end: Annotated[str | None, Query(description="Unix seconds, RFC 3339 or now")] = None,
        step: Annotated[str | None, Query(description="seconds or duration (15s, 1m)")] = None,
        match: Annotated[list[str] | None, Query(description="label matchers k=v, k!=v, k=~re, k!~re")] = None,
        fn: Annotated[str | None, Query(description="avg, min, max, last, sum, count or rate")] = None,
        rate: Annotated[bool, Query(description="same as fn=rate (counters, per second)")] = False,
    ) -> Response:
        if not METRIC_NAME_RE.match(metric):
            raise BadRequest(f"metric: {metric!r} is not a valid metric name")
        now = time.time()
        t_end = parse_time(end, "end", now) if end else now
        t_start = parse_time(start, "start", now) if start else t_end - 3600
        if t_end < t_start:
            raise BadRequest("end must not be before start")
        if step:
            t_step = parse_duration(step, "step")
            if t_step <= 0:
                raise BadRequest("step must be positive")
        else:
            t_step = max(hub.config.monitoring_interval, (t_end - t_start) / 500)
        if (t_end - t_start) / t_step + 1 > MAX_POINTS:
            raise BadRequest(f"more than {MAX_POINTS} points: raise step")
        try:
            matchers = parse_matchers(match)
            if host:
                matchers.append(Matcher.make("host", "=", host))
            res = await asyncio.to_thread(hub.store.query, metric, matchers, t_start, t_end, t_step,
                                          "rate" if rate else fn)
            series = res.series
        except QueryError as e:
            raise BadRequest(str(e)) from None
        except StoreError as e:
            return JSONResponse({"error": f"store unavailable: {e}"}, status_code=503)
        return JSONResponse({
            "metric": metric, "start": t_start, "end": t_end, "step": t_step, "tier": res.tier,
            "fn": "rate" if rate else fn, "series": [{"labels": s.labels,
                        "points": [[t, json_number(v) if v is not None else None]
                                   for t, v in s.points]} for s in series]})

    async def exposition() -> Response:
        return Response(content=hub.snapshot.metrics_text, media_type=CONTENT_TYPE)

    app.add_api_route("/metrics", exposition, methods=["GET"],
                      summary="Prometheus exposition of everything collected in the last cycle")
    app.add_api_route("/api/monitoring/metrics", exposition, methods=["GET"],
                      summary="Same as /metrics (the spec's endpoint)")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        """Pushes ``{"type": "metrics_update", "data": {...}, "timestamp": t}`` every cycle;
        the latest one is sent on connect."""
        await websocket.accept()
        q = hub.subscribe()
        try:
            if hub.snapshot.ws_message:
                await websocket.send_text(hub.snapshot.ws_message)
            recv = asyncio.create_task(websocket.receive_text())
            while True:
                get = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({get, recv}, return_when=asyncio.FIRST_COMPLETED)
                if recv in done:
                    get.cancel()
                    recv.result()  # raises WebSocketDisconnect on close
                    recv = asyncio.create_task(websocket.receive_text())
                    continue
                await websocket.send_text(get.result())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.unsubscribe(q)
            with contextlib.suppress(Exception):
                recv.cancel()

    from .alerts_routes import build_router as alerts_router

    app.include_router(alerts_router(hub))
    from .applications import router as applications_router

    app.include_router(applications_router(hub))  # GET /api/applications (issue 12)
    from .reports_routes import build_router as reports_router

    app.include_router(reports_router(hub))  # GET /api/reports[/{name}] (issue 11)
    from .optimizer_routes import build_router as optimizer_router

    app.include_router(optimizer_router(hub))  # /api/optimizer/* (issue 8; POSTs are admin-only)
    if hub.config.dashboard_enabled:
        from .dashboard import mount_dashboard

        mount_dashboard(app)  # GET / and /static/* (issue 5)
    from .auth import AuthMiddleware

    app.add_middleware(SnapshotFastPath, hub=hub)  # inner: added first
    # Host allowlist and Origin, tokens, sessions, CSRF, access log; open when no token is configured
    app.add_middleware(AuthMiddleware, get_config=lambda: hub.config.auth,
                       listen_host=listen_host or hub.config.dashboard_host)
    return app
