"""The web dashboard: static files under ``web/static/`` served by the hub at ``/``.

:func:`mount_dashboard` adds two things to the hub's FastAPI app:

- ``GET /`` -> ``static/index.html``;
- ``/static/...`` -> the files under ``static/`` (the page's script, style and the vendored
  uPlot chart library, see ``static/vendor/README.md``).

Everything the page needs ships with the package: it loads nothing from another origin, and every
dashboard response carries :data:`SECURITY_HEADERS` (a Content-Security-Policy that allows script,
style, images and fonts from the hub itself only, no inline script or style, and connections to
the hub's own REST API and WebSocket). The page fills itself from the public API
(``/api/metrics/current``, ``/api/metrics/history``, ``/api/system/status``, ``/api/alerts``,
``/openapi.json``) and the ``/ws`` feed; it has no endpoint of its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).with_name("static")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
"""Content-Security-Policy of every dashboard response. ``ws:``/``wss:`` are needed because CSP
level 3's ``'self'`` matches the WebSocket only in newer browsers."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",  # revalidate (ETag) so an upgraded hub serves its new page
}


class _DashboardFiles(StaticFiles):
    """StaticFiles that adds :data:`SECURITY_HEADERS` to every file it serves."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        resp = await super().get_response(path, scope)
        resp.headers.update(SECURITY_HEADERS)
        return resp


def mount_dashboard(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    """Serve the dashboard on ``app``: ``GET /`` (index.html) and ``/static/*``.

    Raises :class:`FileNotFoundError` when ``static_dir`` has no ``index.html`` (a broken
    install), so the hub refuses to start rather than serving a blank page.
    """
    index = static_dir / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"dashboard files missing: {index}")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def dashboard_index() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    app.mount("/static", _DashboardFiles(directory=static_dir), name="static")
