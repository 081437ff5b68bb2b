"""The hub's own state: ``GET /healthz``, ``POST /api/admin/reload``, the snapshot reads
(``/api/metrics/current``, ``/api/system/status``, ``/metrics``, ``/api/monitoring/metrics``)
and the declared figures (``GET /api/figures``).

Snapshot reads answer the bytes the hub rendered once per cycle (the same bytes
:class:`~.app.SnapshotFastPath` serves for a plain ``GET``); nothing here runs a probe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from .. import __version__
from ..exposition import CONTENT_TYPE
from ..figures import to_json as figures_json
from ..logs import dropped_records
from ..severity import SEVERITY_VALUES

if TYPE_CHECKING:
    from ..hub.snapshot import Snapshot


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


def figures_document() -> dict[str, Any]:
    """``GET /api/figures``: :func:`~..figures.to_json` plus ``severities``, the severity
    strings most severe first (the dashboard's display order)."""
    return {**figures_json(), "severities": list(SEVERITY_VALUES)}


def build_router(snapshot: Callable[[], Snapshot], problem: Callable[[], str | None],
                 reload: Callable[[], Awaitable[list[str] | None]],
                 config_path: Callable[[], str | None]) -> APIRouter:
    """Routes over ``snapshot()`` (the hub's latest snapshot), ``problem()`` (why the data dir
    is unusable, None when fine), ``reload()`` (re-read the config: its problems, or None) and
    ``config_path()`` (the config file reloaded)."""
    r = APIRouter(tags=["status"])

    @r.get("/healthz", summary="Liveness: the hub is up, when its last cycle ran and how many "
           "log records were dropped on full log queues; 503 with the reason when its data dir "
           "went from under it")
    async def healthz() -> JSONResponse:
        ts = snapshot().timestamp or None
        why = problem()
        if why:
            return JSONResponse({"status": "unhealthy", "reason": why, "version": __version__,
                                 "last_cycle": ts}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "last_cycle": ts,
                             "log_records_dropped": dropped_records()})

    @r.post("/api/admin/reload", summary="Re-read the config file (as SIGHUP); a bad file is "
            "refused with its problems and the running config stays")
    async def reload_config() -> JSONResponse:
        problems = await reload()
        if problems:
            return JSONResponse({"error": "config refused", "problems": problems}, status_code=400)
        return JSONResponse({"status": "reloaded", "config": config_path()})

    @r.get("/api/metrics/current", summary="Latest collected figures per host and service")
    async def current(full: bool = False) -> Response:
        snap = snapshot()
        return _json(snap.current_full_json if full else snap.current_json)

    @r.get("/api/system/status", summary="Health per host and service, availability, health score")
    async def status() -> Response:
        return _json(snapshot().status_json)

    @r.get("/api/figures", summary="The declared figures: source metrics, filters, unit, "
           "precision; and the severities, most severe first")
    async def figures_table() -> dict[str, Any]:
        return figures_document()

    async def exposition() -> Response:
        return Response(content=snapshot().metrics_text, media_type=CONTENT_TYPE)

    r.add_api_route("/metrics", exposition, methods=["GET"],
                    summary="Prometheus exposition of everything collected in the last cycle")
    r.add_api_route("/api/monitoring/metrics", exposition, methods=["GET"],
                    summary="Same as /metrics (the spec's endpoint)")
    return r
