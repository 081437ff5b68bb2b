"""``storage.backend: prometheus``: history read from any server speaking the Prometheus HTTP API
(Prometheus, VictoriaMetrics, Thanos, Mimir) through ``/api/v1/query_range``.

That server scrapes the agents and the hub's ``/metrics`` itself (``autobot-monitor
export-prometheus-config`` writes the scrape config), so :meth:`PrometheusStore.write` stores
nothing. Query functions map to PromQL over the step: avg -> ``avg_over_time``, min/max ->
``min/max_over_time``, rate -> ``rate(x[max(2*step, 30s)])``, none -> the value at each step.
A step the server answers no value for (stale, or before the series began) is ``None``.
Errors: QueryError for what the server calls bad input (HTTP 400/422), StoreError when it is
unreachable or answers something else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import httpx

from ..errors import QueryError, StoreError
from ..model import METRIC_NAME_RE, MetricFamily, unit_of
from .base import MAX_POINTS, Matchers, QueryResult, Series
from .matchers import to_matchers
from .metadata import MetricMeta

_FN = {"avg": "avg_over_time", "min": "min_over_time", "max": "max_over_time",
       "last": "last_over_time", "sum": "sum_over_time", "count": "count_over_time"}


def selector(name: str, matchers: Matchers) -> str:
    """PromQL selector ``name{k="v",...}`` (each matcher as :meth:`~..matchers.Matcher.promql`
    spells it). Raises QueryError for a bad metric name."""
    if not METRIC_NAME_RE.match(name):
        raise QueryError(f"{name!r} is not a valid metric name")
    parts = [m.promql() for m in to_matchers(matchers)]
    return name + ("{" + ",".join(parts) + "}" if parts else "")


def _dur(seconds: float) -> str:
    return f"{max(1, int(math.ceil(seconds * 1000)))}ms"


class PrometheusStore:
    """History through the Prometheus HTTP API at ``url`` (e.g. ``http://127.0.0.1:9091``)."""

    tier = "prometheus"

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self._c = httpx.Client(timeout=timeout)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            r = self._c.get(self.url + path, params=params)
        except httpx.HTTPError as e:
            raise StoreError(f"prometheus at {self.url} unreachable: {e}") from e
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code in (400, 422):
            raise QueryError(f"prometheus refused the query: {body.get('error', r.text[:200])}")
        if r.status_code != 200 or body.get("status") != "success":
            raise StoreError(f"prometheus at {self.url} answered HTTP {r.status_code}: "
                             f"{body.get('error', r.text[:200])}")
        return body["data"]

    def write(self, batch: Iterable[Series]) -> int:
        return 0

    def query(self, name: str, matchers: Matchers, start: float, end: float, step: float,
              fn: str | None = None) -> QueryResult:
        if end < start:
            raise QueryError("end must not be before start")
        if step <= 0 or (end - start) / step + 1 > MAX_POINTS:
            raise QueryError(f"step must be positive and give at most {MAX_POINTS} points")
        sel = selector(name, matchers)
        if fn == "rate":
            q = f"rate({sel}[{_dur(max(2 * step, 30))}])"
        elif fn in _FN:
            q = f"{_FN[fn]}({sel}[{_dur(step)}])"
        elif fn is None:
            q = sel
        else:
            raise QueryError(f"unknown function {fn!r}")
        data = self._get("/api/v1/query_range", {"query": q, "start": start, "end": end, "step": step})
        out = []
        start_ms, step_ms = int(round(start * 1000)), max(1, int(round(step * 1000)))
        grid = range(start_ms, int(round(end * 1000)) + 1, step_ms)
        for s in data.get("result", []):
            labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
            got = {int(round(float(t) * 1000)): float(v) for t, v in s["values"]}
            # a step the server has no value for (stale: nothing within its lookback) is null
            out.append(Series(name, labels, [(t / 1000.0, got.get(t)) for t in grid]))
        out.sort(key=lambda s: sorted(s.labels.items()))
        return QueryResult(self.tier, out)

    def query_range(self, name: str, matchers: Matchers, start: float, end: float, step: float,
                    fn: str | None = None) -> list[Series]:
        return self.query(name, matchers, start, end, step, fn).series

    def raw_samples(self, name: str, matchers: Matchers, start: float, end: float) -> list[Series]:
        raise QueryError("raw samples are read from the embedded store only: give a step")

    def mean(self, name: str, matchers: Matchers, start: float, end: float) -> float | None:
        q = f"avg(avg_over_time({selector(name, matchers)}[{_dur(max(end - start, 0.001))}]))"
        res = self._get("/api/v1/query", {"query": q, "time": end}).get("result", [])
        return float(res[0]["value"][1]) if res else None

    def metric_names(self) -> list[str]:
        return sorted(self._get("/api/v1/label/__name__/values", {}))

    def metadata(self, name: str | None = None) -> dict[str, MetricMeta]:
        """The server's ``/api/v1/metadata`` (of ``name`` when given) in our terms: a counter
        family named without ``_total`` gets it; a missing unit is the one the name ends with."""
        data = self._get("/api/v1/metadata", {"metric": name} if name else {})
        out: dict[str, MetricMeta] = {}
        for n, entries in sorted(data.items()):
            if not entries:
                continue
            e = entries[0]
            t = e.get("type", "")
            key = n + "_total" if t == "counter" and not n.endswith("_total") else n
            out[key] = MetricMeta(t, e.get("unit") or unit_of(key), e.get("help", ""))
        return out

    def enforce_retention(self, now: float) -> int:
        return 0  # the server keeps its own retention

    def families(self) -> list[MetricFamily]:
        return []

    def close(self) -> None:
        self._c.close()
