"""Store reads: ``GET /api/metrics/names``, ``/api/metrics/metadata`` and ``/api/metrics/history``.

Each runs the store call in a worker thread. Bad input is a 400 ``{"error": message}`` (via
:class:`~..errors.BadRequest`); a store that cannot answer is a 503 ``{"error": "store
unavailable: ..."}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from ..errors import BadRequest, QueryError, StoreError
from ..matchers import Matcher, parse_matchers
from ..model import METRIC_NAME_RE, json_number
from ..store import MAX_POINTS
from ..timeparse import parse_duration, parse_time

_HISTORY_DESCRIPTION = (
    "Points are [step_start, value]; a step inside a hole of the series (a missed scrape, a "
    "target down, the hub not running) is [t, null], never a carried or interpolated value; no "
    "rate is computed across a hole.")


def _check_metric(metric: str) -> None:
    if not METRIC_NAME_RE.match(metric):
        raise BadRequest(f"metric: {metric!r} is not a valid metric name")


def time_range(start: str | None, end: str | None, step: str | None,
               min_step: float, now: float) -> tuple[float, float, float]:
    """``(start, end, step)`` in Unix seconds from the query's texts: ``end`` defaults to
    ``now``, ``start`` to an hour before ``end``, ``step`` to the larger of ``min_step`` and
    1/500 of the range. Raises BadRequest for a reversed range, a step that is not positive or
    more than :data:`~..store.MAX_POINTS` points."""
    t_end = parse_time(end, "end", now) if end else now
    t_start = parse_time(start, "start", now) if start else t_end - 3600
    if t_end < t_start:
        raise BadRequest("end must not be before start")
    if step:
        t_step = parse_duration(step, "step")
        if t_step <= 0:
            raise BadRequest("step must be positive")
    else:
        t_step = max(min_step, (t_end - t_start) / 500)
    if (t_end - t_start) / t_step + 1 > MAX_POINTS:
        raise BadRequest(f"more than {MAX_POINTS} points: raise step")
    return t_start, t_end, t_step


def build_router(store: Callable[[], Any], interval: Callable[[], float]) -> APIRouter:
    """Routes over ``store()`` (the hub's :class:`~..store.base.Store`); ``interval()`` is the
    monitoring interval in seconds, the smallest default history step."""
    r = APIRouter(tags=["metrics"])

    @r.get("/api/metrics/names", summary="Every stored metric name")
    async def names() -> dict[str, list[str]]:
        return {"metrics": await asyncio.to_thread(store().metric_names)}

    @r.get("/api/metrics/metadata", summary="Type (gauge, counter, info, histogram), unit and "
           "help per stored metric family, as Prometheus' /api/v1/metadata answers them")
    async def metadata(
        metric: Annotated[str | None, Query(description="a family name (x_seconds) or one of its "
                                                        "sample names (x_seconds_bucket)")] = None,
    ) -> JSONResponse:
        if metric is not None:
            _check_metric(metric)
        try:
            meta = await asyncio.to_thread(store().metadata, metric)
        except StoreError as e:
            return JSONResponse({"error": f"store unavailable: {e}"}, status_code=503)
        return JSONResponse({"metadata": {k: [m.to_json()] for k, m in meta.items()}})

    @r.get("/api/metrics/history", summary="Stored history of one metric over a range",
           description=_HISTORY_DESCRIPTION)
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
        _check_metric(metric)
        t_start, t_end, t_step = time_range(start, end, step, interval(), time.time())
        fn = "rate" if rate else fn
        try:
            matchers = parse_matchers(match)
            if host:
                matchers.append(Matcher.make("host", "=", host))
            res = await asyncio.to_thread(store().query, metric, matchers, t_start, t_end, t_step, fn)
        except QueryError as e:
            raise BadRequest(str(e)) from None
        except StoreError as e:
            return JSONResponse({"error": f"store unavailable: {e}"}, status_code=503)
        return JSONResponse({
            "metric": metric, "start": t_start, "end": t_end, "step": t_step, "tier": res.tier,
            "fn": fn, "series": [{"labels": s.labels,
                                  "points": [[t, json_number(v) if v is not None else None]
                                             for t, v in s.points]} for s in res.series]})

    return r
