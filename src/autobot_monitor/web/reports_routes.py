"""Report API: the reports the hub keeps in ``<data-dir>/<reports.dir>``.

``GET /api/reports`` lists them (newest first) with the schedule; ``GET /api/reports/{name}``
serves one file. Names are checked against the report file pattern (no paths); a report's HTML
is served with a Content-Security-Policy that allows no script and no other origin (its charts
are ``data:`` images).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ..report.schedule import MEDIA, NAME_RE, list_reports, reports_dir

if TYPE_CHECKING:
    from ..report.schedule import ReportScheduler

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def build_router(config: Callable[[], Any], data_dir: str,
                 scheduler: ReportScheduler | None) -> APIRouter:
    """Routes over the reports dir of ``config()`` (the live config) under ``data_dir``;
    ``scheduler`` (None: the hub builds none) gives the last build error."""
    r = APIRouter()

    @r.get("/api/reports", summary="Saved performance reports, newest first")
    async def reports() -> dict:
        cfg = config()
        items = await asyncio.to_thread(list_reports, reports_dir(cfg, data_dir))
        return {"schedule": cfg.reports.schedule, "formats": list(cfg.reports.formats),
                "last_error": scheduler.last_error if scheduler is not None else None,
                "reports": [{**i, "url": f"/api/reports/{i['name']}"} for i in items]}

    @r.get("/api/reports/{name}", summary="One saved report (HTML, JSON or PDF)")
    async def report(name: str):
        m = NAME_RE.match(name)
        if not m:
            return JSONResponse({"error": f"no report {name!r}"}, status_code=404)
        path = os.path.join(reports_dir(config(), data_dir), name)
        try:
            body = await asyncio.to_thread(_read, path)
        except FileNotFoundError:
            return JSONResponse({"error": f"no report {name!r}"}, status_code=404)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        if m.group(4) == "html":
            headers["Content-Security-Policy"] = CSP
        return Response(content=body, media_type=MEDIA[m.group(4)], headers=headers)

    return r
