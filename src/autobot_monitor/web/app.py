"""The hub's ASGI app: REST API, WebSocket, Prometheus exposition, health.

Every read endpoint answers from the hub's latest :class:`~..hub.service.Snapshot` (bytes rendered
once per cycle) or from the store in a worker thread: no request ever runs a probe, and nothing
blocking runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import BadRequest, QueryError, StoreError
from ..exposition import CONTENT_TYPE
from ..figures import to_json as figures_json
from ..logs import dropped_records
from ..matchers import Matcher, parse_matchers
from ..model import METRIC_NAME_RE, json_number
from ..store import MAX_POINTS
from ..timeparse import parse_duration, parse_time

if TYPE_CHECKING:
    from ..hub.snapshot import Snapshot


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
        self.routes: dict[str, tuple[Callable[[Snapshot], bytes], bytes]] = {
            "/api/metrics/current": (lambda s: s.current_json, json_type),
            "/api/system/status": (lambda s: s.status_json, json_type),
            "/metrics": (lambda s: s.metrics_text, text_type),
            "/api/monitoring/metrics": (lambda s: s.metrics_text, text_type)}

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope.get("path")) if scope["type"] == "http" else None
        if route is None or scope.get("method") != "GET" or scope.get("query_string"):
            return await self.app(scope, receive, send)
        body = route[0](self.hub.snapshot)
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
        problem = hub.data_dir_problem
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

    @app.get("/api/figures", summary="The declared figures: source metrics, filters, unit, precision")
    async def figures_table() -> dict:
        return figures_json()

    @app.get("/api/metrics/names", summary="Every stored metric name")
    async def names() -> dict:
        return {"metrics": await asyncio.to_thread(hub.store.metric_names)}

    @app.get("/api/metrics/metadata", summary="Type (gauge, counter, info, histogram), unit and "
             "help per stored metric family, as Prometheus' /api/v1/metadata answers them")
    async def metadata(
        metric: Annotated[str | None, Query(description="a family name (x_seconds) or one of its "
                                                        "sample names (x_seconds_bucket)")] = None,
    ) -> JSONResponse:
        if metric is not None and not METRIC_NAME_RE.match(metric):
            raise BadRequest(f"metric: {metric!r} is not a valid metric name")
        try:
            meta = await asyncio.to_thread(hub.store.metadata, metric)
        except StoreError as e:
            return JSONResponse({"error": f"store unavailable: {e}"}, status_code=503)
        return JSONResponse({"metadata": {k: [m.to_json()] for k, m in meta.items()}})

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

    app.include_router(applications_router(hub))  # GET /api/applications
    from .reports_routes import build_router as reports_router

    app.include_router(reports_router(lambda: hub.config, hub.data_dir, hub.reports))  # GET /api/reports[/{name}])
    from .optimizer_routes import build_router as optimizer_router

    app.include_router(optimizer_router(hub.optimizer))  # /api/optimizer/* (POSTs are admin-only)
    if hub.config.dashboard_enabled:
        from .dashboard import mount_dashboard

        mount_dashboard(app)  # GET / and /static/*
    from .auth import AuthMiddleware

    app.add_middleware(SnapshotFastPath, hub=hub)  # inner: added first
    # Host allowlist and Origin, tokens, sessions, CSRF, access log; open when no token is configured
    app.add_middleware(AuthMiddleware, get_config=lambda: hub.config.auth,
                       listen_host=listen_host or hub.config.dashboard_host)
    return app
