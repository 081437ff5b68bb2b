"""``GET /api/applications``: a generic view of every scraped application (``targets:`` jobs).

For each job, computed from the stored history over the last ``window`` (default 5 min):

* every histogram the job exposes (any stored ``<name>_bucket`` series with an ``le`` label),
  per label set (``le``, ``job`` and ``instance`` removed; instances summed): how many
  observations the window saw, their rate per second, and the p50/p90/p99 in the histogram's
  unit (seconds for ``*_seconds``);
* for histograms of :mod:`autobot_monitor.recorders` (``<ns>_operation_duration_seconds``), the
  error ratio from the matching ``<ns>_operations_total{status}`` counter: operations whose
  status is not ``ok`` over all operations;
* a ``summary`` of the job's main histogram (``?histogram=NAME``, else the recorder's, else the
  only one) over all its label sets: the request rate, error ratio and latency percentiles.

How: a histogram's ``_bucket`` series are counters. Each one's increase over the window is the
sum of its rises between consecutive stored samples, a fall being a counter reset
(:func:`autobot_monitor.quantiles.increase`: PromQL's ``increase`` without extrapolation); the
per-``le`` increases are then turned into quantiles the way PromQL's ``histogram_quantile`` does
(:func:`autobot_monitor.quantiles.histogram_quantile`: linear interpolation inside the bucket
holding the rank, so the answer is exact to that bucket's width). Rates divide by the time
between the first and last stored samples of the window (bucketed to the query step). A figure
that cannot be computed (fewer than two samples, no observations) is ``null``.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..errors import BadRequest, QueryError, StoreError
from ..model import METRIC_NAME_RE
from ..quantiles import histogram_quantile, increase, parse_le
from ..timeparse import parse_duration

QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
RECORDER_SUFFIX = "_operation_duration_seconds"
MAX_WINDOW_S = 7 * 86400
_DROP = ("le", "job", "instance")


def _key(labels: dict[str, str], drop: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in drop))


def _span(points) -> float:
    ts = [t for t, v in points if v is not None]
    return ts[-1] - ts[0] if len(ts) >= 2 else 0.0


def _histogram_groups(store, base: str, job: str, start: float, end: float, step: float,
                      drop: tuple[str, ...]) -> dict:
    """``{label key: {"buckets": {le: increase}, "span": seconds}}`` for ``base``'s buckets,
    label keys without the ``drop`` labels."""
    groups: dict = {}
    for s in store.query_range(base + "_bucket", {"job": job}, start, end, step):
        try:
            le = parse_le(s.labels.get("le", ""))
        except ValueError:
            continue
        inc = increase(s.points)
        if inc is None:
            continue
        g = groups.setdefault(_key(s.labels, drop), {"buckets": defaultdict(float), "span": 0.0})
        g["buckets"][le] += inc
        g["span"] = max(g["span"], _span(s.points))
    return groups


def _outcome_groups(store, name: str, job: str, start: float, end: float, step: float,
                    drop: tuple[str, ...]) -> dict:
    """``{label key without status: [errors, total]}`` from an outcome counter's increases."""
    out: dict = {}
    for s in store.query_range(name, {"job": job}, start, end, step):
        inc = increase(s.points)
        if inc is None:
            continue
        e_t = out.setdefault(_key(s.labels, (*drop, "status")), [0.0, 0.0])
        e_t[1] += inc
        if s.labels.get("status") != "ok":
            e_t[0] += inc
    return out


def _figures(buckets: dict[float, float], span: float, errors_total: list[float] | None) -> dict:
    obs = buckets.get(math.inf)
    pct = {k: histogram_quantile(q, buckets.items()) for k, q in QUANTILES}
    err = None
    if errors_total is not None and errors_total[1] > 0:
        err = errors_total[0] / errors_total[1]
    return {"observations": obs,
            "rate_per_second": obs / span if obs is not None and span > 0 else None,
            "error_ratio": err, "quantiles": pct}


def application_view(store, jobs: Mapping[str, Iterable[str]], end: float, window: float,
                     step: float, main: str | None = None) -> dict:
    """The ``/api/applications`` document over ``[end - window, end]`` (Unix seconds), querying
    ``store`` at ``step`` seconds. ``jobs`` maps each job to the static labels its targets add
    (left out of label sets, like ``job`` and ``instance``). ``main`` names the summary's
    histogram. Blocking (store queries): call it in a worker thread. Raises
    ``QueryError``/``StoreError``."""
    start = end - window
    names = store.metric_names()
    bases = sorted(n[: -len("_bucket")] for n in names if n.endswith("_bucket"))
    name_set = set(names)
    apps = []
    for job, static in jobs.items():
        drop = (*_DROP, *static)
        instances = {}
        for s in store.query_range("up", {"job": job}, start, end, step):
            last = [v for _, v in s.points if v is not None]
            instances[s.labels.get("instance", "")] = bool(last[-1] == 1) if last else None
        hists = []
        per_base: dict[str, tuple[dict, dict | None]] = {}
        for base in bases:
            groups = _histogram_groups(store, base, job, start, end, step, drop)
            if not groups:
                continue
            outcomes = None
            if base.endswith(RECORDER_SUFFIX):
                oc = base[: -len(RECORDER_SUFFIX)] + "_operations_total"
                if oc in name_set:
                    outcomes = _outcome_groups(store, oc, job, start, end, step, drop)
            per_base[base] = (groups, outcomes)
            for key, g in sorted(groups.items()):
                et = outcomes.get(key) if outcomes is not None else None
                hists.append({"metric": base, "labels": dict(key),
                              **_figures(g["buckets"], g["span"], et)})
        apps.append({"job": job,
                     "instances": [{"instance": i, "up": u} for i, u in sorted(instances.items())],
                     "summary": _summary(per_base, main), "histograms": hists})
    return {"end": end, "window_seconds": window, "step_seconds": step, "applications": apps}


def _summary(per_base: dict, main: str | None) -> dict | None:
    if main is None:
        rec = [b for b in per_base if b.endswith(RECORDER_SUFFIX)]
        main = rec[0] if rec else (next(iter(per_base)) if len(per_base) == 1 else None)
    if main is None or main not in per_base:
        return None
    groups, outcomes = per_base[main]
    buckets: dict[float, float] = defaultdict(float)
    span = 0.0
    for g in groups.values():
        for le, v in g["buckets"].items():
            buckets[le] += v
        span = max(span, g["span"])
    et = None
    if outcomes is not None:
        et = [sum(e for e, _ in outcomes.values()), sum(t for _, t in outcomes.values())]
    return {"metric": main, **_figures(buckets, span, et)}


def router(hub) -> APIRouter:
    """The router serving ``GET /api/applications`` from ``hub``'s store and targets."""
    r = APIRouter()

    @r.get("/api/applications",
           summary="Per scraped application: rate, error ratio, latency percentiles from histograms")
    async def applications(
        window: Annotated[str, Query(description="look-back window: seconds or 30s, 5m, 1h")] = "5m",
        job: Annotated[str | None, Query(description="only this target job")] = None,
        histogram: Annotated[str | None, Query(
            description="histogram (base name) for each job's summary")] = None,
    ) -> JSONResponse:
        w = parse_duration(window, "window")
        if not 1 <= w <= MAX_WINDOW_S:
            raise BadRequest(f"window must be between 1s and {MAX_WINDOW_S // 86400}d")
        if histogram is not None and not METRIC_NAME_RE.match(histogram):
            raise BadRequest(f"histogram: {histogram!r} is not a valid metric name")
        jobs: dict[str, set[str]] = {}
        for t in hub.targets:
            if t.host is None:
                jobs.setdefault(t.job, set()).update(t.labels)
        if job is not None:
            if job not in jobs:
                return JSONResponse({"error": f"no target with job {job!r}"}, status_code=404)
            jobs = {job: jobs[job]}
        step = max(float(hub.config.monitoring_interval), w / 1000)
        end = hub.clock.time()
        try:
            doc = await asyncio.to_thread(application_view, hub.store, jobs, end, w, step,
                                          histogram)
        except QueryError as e:
            raise BadRequest(str(e)) from None
        except StoreError as e:
            return JSONResponse({"error": f"store unavailable: {e}"}, status_code=503)
        return JSONResponse(doc)

    return r
