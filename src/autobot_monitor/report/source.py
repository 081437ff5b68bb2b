"""Where a report's data comes from.

Metric history: :class:`StoreSource` (a store object: inside the hub, or a stopped hub's store
opened by the CLI) or :class:`HttpSource` (a running hub's ``/api/metrics/history``). Both answer
``query(metric, matchers, start, end, step, fn) -> [{"labels": {...}, "points": [[t, v], ...]}]``;
:func:`fetch` splits a long range into queries of at most :data:`~.period.TARGET_POINTS` steps,
aligned to one bucket grid, and joins the pieces per series.

Everything else comes from files in the data dir (:class:`DataFiles`): the alert engine's
transition history (``alerts_state.json``), the alerts log (``logs/alerts.log*``, JSONL), the
optimizer's log (``logs/optimization.log*``, JSONL) and saved benchmark runs
(``logs/benchmarks/*.json``). Reads are bounded (:data:`MAX_LINES` lines per log).
"""

from __future__ import annotations

import glob
import json
import os
from typing import Protocol

from ..errors import StoreError
from .period import TARGET_POINTS

MAX_LINES = 200_000


class MetricSource(Protocol):
    """``query`` raises QueryError for bad input and StoreError when the data is unavailable."""

    def query(self, metric: str, matchers: list[str], start: float, end: float, step: float,
              fn: str | None) -> list[dict]: ...


class StoreSource:
    """Reads a :class:`~..store.base.Store` directly (blocking; call from a worker thread)."""

    def __init__(self, store):
        self.store = store
        self.kind = "store"

    def query(self, metric, matchers, start, end, step, fn):
        from ..matchers import parse_matcher

        res = self.store.query(metric, [parse_matcher(m) for m in matchers], start, end, step, fn)
        return [{"labels": s.labels, "points": s.points} for s in res.series]


class HttpSource:
    """Reads a running hub's ``/api/metrics/history`` at ``url`` (``token`` sent as a bearer when
    the hub requires one). HTTP failures raise StoreError; a 400 raises QueryError with the
    hub's message."""

    def __init__(self, url: str, timeout: float = 60.0, token: str | None = None):
        import httpx

        self.url = url.rstrip("/")
        self.kind = "http"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def get_json(self, path: str, **params) -> dict:
        import httpx

        from ..errors import QueryError

        try:
            r = self._client.get(self.url + path, params=params)
        except httpx.HTTPError as e:
            raise StoreError(f"hub at {self.url} unreachable: {e}") from e
        if r.status_code == 400:
            raise QueryError(r.json().get("error", "bad request"))
        if r.status_code in (401, 403):
            raise StoreError(f"hub at {self.url}: {path} answered {r.status_code} (pass --token or "
                             "set $AUTOBOT_MONITOR_TOKEN)")
        if r.status_code != 200:
            raise StoreError(f"hub at {self.url}: {path} answered {r.status_code}")
        return r.json()

    def query(self, metric, matchers, start, end, step, fn):
        params = {"metric": metric, "start": repr(start), "end": repr(end), "step": repr(step),
                  "match": matchers, **({"fn": fn} if fn else {})}
        return self.get_json("/api/metrics/history", **params)["series"]

    def close(self) -> None:
        self._client.close()


def fetch(source: MetricSource, metric: str, matchers: list[str], start: float, end: float,
          step: float, fn: str | None = None) -> dict[tuple, list[tuple[float, float]]]:
    """All series of ``metric`` over ``[start, end)`` at ``step`` seconds with ``fn`` per step,
    as ``{sorted label tuple: [(t, v)]}`` (steps with no value left out). Several queries of at
    most TARGET_POINTS steps each, on one grid starting at ``start``."""
    out: dict[tuple, list[tuple[float, float]]] = {}
    span = TARGET_POINTS * step
    a = start
    while a < end:
        b = min(a + span, end)
        for s in source.query(metric, matchers, a, b - 0.001, step, fn):
            key = tuple(sorted(s["labels"].items()))
            pts = out.setdefault(key, [])
            pts.extend((float(t), float(v)) for t, v in s["points"] if v is not None)
        a = b
    return out


# -- files in the data dir ------------------------------------------------------------------------
class DataFiles:
    """Files of a data dir: ``data_dir`` and its ``logs_dir`` (relative to it unless absolute).
    Every reader returns None when its file does not exist (nothing recorded)."""

    def __init__(self, data_dir: str | None, logs_dir: str = "logs"):
        self.data_dir = data_dir
        self.logs = (None if data_dir is None else
                     logs_dir if os.path.isabs(logs_dir) else os.path.join(data_dir, logs_dir))

    def alert_transitions(self) -> list[dict] | None:
        """The engine's persisted transition history (bounded by ``alerting.history_size``)."""
        if self.data_dir is None:
            return None
        try:
            with open(os.path.join(self.data_dir, "alerts_state.json"), encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError):
            return None
        hist = state.get("history")
        return hist if isinstance(hist, list) else None

    def _jsonl(self, name: str) -> list[dict] | None:
        if self.logs is None:
            return None
        base = os.path.join(self.logs, name)
        files = [p for p in glob.glob(glob.escape(base) + ".*") if p.rsplit(".", 1)[-1].isdigit()]
        files.sort(key=lambda p: -int(p.rsplit(".", 1)[-1]))  # oldest rotation first
        if os.path.exists(base):
            files.append(base)
        if not files:
            return None
        out: list[dict] = []
        for p in files:
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        line = line.strip()
                        if not line.startswith("{"):
                            continue
                        try:
                            d = json.loads(line)
                        except ValueError:
                            continue
                        if isinstance(d, dict):
                            out.append(d)
                            if len(out) > MAX_LINES:
                                del out[: MAX_LINES // 2]
            except OSError:
                continue
        return out

    def alerts_log(self) -> list[dict] | None:
        return self._jsonl("alerts.log")

    def optimization_log(self) -> list[dict] | None:
        return self._jsonl("optimization.log")

    def benchmark_runs(self) -> list[dict] | None:
        """Saved benchmark results (oldest first by ``finished``), baselines excluded."""
        if self.logs is None:
            return None
        d = os.path.join(self.logs, "benchmarks")
        if not os.path.isdir(d):
            return None
        runs = []
        for p in sorted(glob.glob(os.path.join(glob.escape(d), "*.json"))):
            if os.path.basename(p).startswith("baseline-"):
                continue
            try:
                with open(p, encoding="utf-8") as f:
                    r = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(r, dict) and "type" in r:
                runs.append(r)
        runs.sort(key=lambda r: r.get("finished") or r.get("started") or 0)
        return runs
