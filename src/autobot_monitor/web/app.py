"""The hub's ASGI app: REST API, WebSocket, Prometheus exposition, health.

The routes live in one module per concern, each a ``build_router(...)`` given only what it
reads: :mod:`.status_routes` (health, reload, snapshot reads, figures), :mod:`.metrics_routes`
(store reads), :mod:`.ws_routes`, :mod:`.alerts_routes`, :mod:`.applications`,
:mod:`.reports_routes`, :mod:`.optimizer_routes` and :mod:`.dashboard` (``/`` and
``/static/*``). This module builds the app, its error handlers and middleware.

Every read endpoint answers from the hub's latest :class:`~..hub.service.Snapshot` (bytes rendered
once per cycle) or from the store in a worker thread: no request ever runs a probe, and nothing
blocking runs on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import BadRequest
from ..exposition import CONTENT_TYPE
from . import metrics_routes, status_routes, ws_routes
from .alerts_routes import build_router as alerts_router
from .applications import router as applications_router
from .auth import AuthMiddleware
from .dashboard import mount_dashboard
from .optimizer_routes import build_router as optimizer_router
from .reports_routes import build_router as reports_router

if TYPE_CHECKING:
    from ..hub.snapshot import Snapshot


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


def _install_error_handlers(app: FastAPI) -> None:
    """Every refusal answers ``{"error": message}``: malformed parameters or bodies 400 (one
    readable message; FastAPI's default is 422 with a list), framework HTTP errors (404, 405)
    with their status (FastAPI's is ``{"detail"}``), :class:`~..errors.BadRequest` 400."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path"))
            parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
        return JSONResponse({"error": "; ".join(parts)[:1000]}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(BadRequest)
    async def _bad(_: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)


def _include_routes(app: FastAPI, hub) -> None:
    """Every route of the API, each router given the parts of ``hub`` it reads."""
    app.include_router(status_routes.build_router(
        lambda: hub.snapshot, lambda: hub.data_dir_problem, hub.reload, lambda: hub.config_path))
    app.include_router(metrics_routes.build_router(
        lambda: hub.store, lambda: hub.config.monitoring_interval))
    app.include_router(ws_routes.build_router(
        hub.subscribe, hub.unsubscribe, lambda: hub.snapshot.ws_message))
    app.include_router(alerts_router(hub))
    app.include_router(applications_router(hub))  # GET /api/applications
    app.include_router(reports_router(lambda: hub.config, hub.data_dir, hub.reports))
    app.include_router(optimizer_router(hub.optimizer))  # /api/optimizer/* (POSTs admin-only)
    if hub.config.dashboard_enabled:
        mount_dashboard(app)  # GET / and /static/*


def create_app(hub, listen_host: str | None = None) -> FastAPI:
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
    _install_error_handlers(app)
    _include_routes(app, hub)
    app.add_middleware(SnapshotFastPath, hub=hub)  # inner: added first
    # Host allowlist and Origin, tokens, sessions, CSRF, access log; open when no token is configured
    app.add_middleware(AuthMiddleware, get_config=lambda: hub.config.auth,
                       listen_host=listen_host or hub.config.dashboard_host)
    return app
