"""The querier of the embedded store: selects series, merges their chunks (:mod:`.chunks`) with
their head (:mod:`.head`), and answers range queries, raw samples, means and tallies.

A read copies the matching series' heads under the store's lock, reads their chunks from SQLite
(a connection per thread), and retries when samples left the head or chunks were rewritten in
between (a generation changed), so no sample is seen twice or missed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np

from ..errors import QueryError
from . import codec
from .base import MAX_POINTS, Matchers, QueryResult, Series
from .chunks import ChunkStore, Tier
from .head import Head, HeadView
from .matchers import Matcher, to_matchers

LOOKBACK_MS = 300_000  # read before a range's start: is its first step inside a hole?
_TRIES = 5  # reads retried while flushes keep moving samples


class Querier:
    """Reads of ``head`` and ``chunks`` (tiers ``tiers``); ``lock`` guards the head."""

    def __init__(self, head: Head, chunks: ChunkStore, tiers: tuple[Tier, ...], lock: threading.RLock):
        self._head, self._chunks, self._tiers, self._lock = head, chunks, tiers, lock

    def _generation(self) -> tuple[int, int]:
        return self._head.generation, self._chunks.generation

    def _select(self, name: str, matchers: list[Matcher]) -> tuple[list[HeadView], tuple[int, int]]:
        with self._lock:
            return self._head.select(name, matchers), self._generation()

    def _retry(self, name: str, matchers: list[Matcher],
               read: Callable[[list[HeadView]], list[Series]]) -> list[Series]:
        """``read`` the selected series, again while a generation changed meanwhile."""
        out: list[Series] = []
        for _ in range(_TRIES):
            sel, gen = self._select(name, matchers)
            out = read(sel)
            if gen == self._generation():
                break
        return sorted(out, key=lambda s: sorted(s.labels.items()))

    def buckets(self, s: HeadView, tier: int, start_ms: int, end_ms: int) -> codec.Buckets:
        """One series' buckets of ``tier`` in ``[start_ms, end_ms]``: chunks then head (raw
        samples become one bucket each)."""
        counter = s.type == "counter"
        if tier == 0:
            raws = self._chunks.raw_chunks(s.id, start_ms, end_ms)
            ts = np.concatenate([p.ts for p in raws] + [s.ts])
            vs = np.concatenate([p.vals for p in raws] + [s.vals])
            b = codec.raw_buckets(ts, vs, counter, None if raws else s.prev_t, None if raws else s.prev_v)
        else:
            parts = self._chunks.rollup_chunks(s.id, tier, start_ms, end_ms)
            b = codec.Buckets.concat([*parts, codec.raw_buckets(s.ts, s.vals, counter, s.prev_t, s.prev_v)])
        return b.select((b.t >= start_ms) & (b.t <= end_ms))

    def choose_tier(self, start: float, end: float, step: float) -> int:
        """The coarsest tier whose resolution fits ``step``, but never a tier that no longer
        holds ``start`` (ages are counted from the newest stored sample)."""
        newest = self._head.newest_ms
        ref = (newest / 1000.0) if newest is not None else end
        fit = max(i for i, t in enumerate(self._tiers) if t.res_ms <= step * 1000)
        for i, t in enumerate(self._tiers):
            if ref - start <= t.retention_s:
                return max(fit, i)
        return len(self._tiers) - 1

    def query(self, name: str, matchers: Matchers, start: float, end: float, step: float,
              fn: str | None = None, max_points: int = MAX_POINTS) -> QueryResult:
        """Series ``name`` matching ``matchers`` over ``[start, end]`` at ``step`` seconds.
        ``fn``: None (avg for gauges, last for counters), avg, min, max, last, sum, count or
        rate (counters only, per second, resets handled). Steps inside a hole of the series are
        ``None``, steps finer than its interval are left out (:func:`.codec.steps`); no rate
        is computed across a hole. Raises QueryError for a bad range,
        step, function, more than ``max_points`` points, or rate on a non-counter."""
        _check_range(start, end, step, max_points)
        if fn not in (None, "avg", "min", "max", "last", "sum", "count", "rate"):
            raise QueryError(f"unknown function {fn!r} (use avg, min, max, last, sum, count, rate)")
        tier = self.choose_tier(start, end, step)
        start_ms, end_ms, step_ms = int(start * 1000), int(end * 1000), max(1, int(step * 1000))
        look = max(2 * step_ms, LOOKBACK_MS)  # tells whether the first steps are in a hole
        res_ms = self._tiers[tier].res_ms

        def read(sel: list[HeadView]) -> list[Series]:
            if fn == "rate" and any(s.type != "counter" for s in sel):
                raise QueryError(f"rate applies to counters; {name} is a {sel[0].type}")
            out = []
            for s in sel:
                f = fn or ("last" if s.type == "counter" else "avg")
                pts = codec.steps(self.buckets(s, tier, start_ms - look, end_ms), start_ms, end_ms,
                                  step_ms, f, res_ms, self._head.newest_ms)
                if pts:
                    out.append(Series(name, dict(s.labels), pts, s.type))
            return out

        return QueryResult(self._tiers[tier].name, self._retry(name, to_matchers(matchers), read))

    def raw_samples(self, name: str, matchers: Matchers, start: float, end: float) -> list[Series]:
        """Every stored raw sample (exact values, NaN/±Inf included) in ``[start, end]``.
        Raises QueryError when ``end < start``."""
        if end < start:
            raise QueryError("end must not be before start")
        start_ms, end_ms = int(start * 1000), int(end * 1000)

        def read(sel: list[HeadView]) -> list[Series]:
            out = []
            for s in sel:
                b = self.buckets(s, 0, start_ms, end_ms)
                if len(b):
                    pts = list(zip((b.t / 1000.0).tolist(), b.last.tolist(), strict=True))
                    out.append(Series(name, dict(s.labels), pts, s.type))
            return out

        return self._retry(name, to_matchers(matchers), read)

    def mean(self, name: str, matchers: Matchers, start: float, end: float) -> float | None:
        """Average of every matching non-NaN sample in ``[start, end]`` (rollup tiers for long
        ranges: their buckets count whole at the range edges); None when there is none."""
        if end < start:
            return None
        tier = self.choose_tier(start, end, max((end - start) / 100, 1e-3))
        sel, _ = self._select(name, to_matchers(matchers))
        tot = cnt = 0.0
        for s in sel:
            b = self.buckets(s, tier, int(start * 1000), int(end * 1000))
            tot += float(b.sum.sum())
            cnt += float(b.count.sum())
        return tot / cnt if cnt else None

    def tally(self, name: str, matchers: Matchers, start: float, end: float,
              step: float) -> list[tuple[float, float, float]]:
        """Per step with samples of any matching series: ``(step_start_seconds, count, sum)``
        of the non-NaN samples, summed over the series; one read for both (the hub's 24 h
        availability). Tier and errors as :meth:`query`."""
        _check_range(start, end, step, MAX_POINTS)
        tier = self.choose_tier(start, end, step)
        start_ms, end_ms, step_ms = int(start * 1000), int(end * 1000), max(1, int(step * 1000))
        sel, _ = self._select(name, to_matchers(matchers))
        acc: dict[int, list[float]] = {}
        for s in sel:
            b = self.buckets(s, tier, start_ms, end_ms)
            if len(b):
                keys, cnt = codec.aggregate_keys(b, start_ms, step_ms, "count")
                _, tot = codec.aggregate_keys(b, start_ms, step_ms, "sum")
                for k, c, v in zip(keys.tolist(), cnt.tolist(), tot.tolist(), strict=True):
                    a = acc.setdefault(k, [0.0, 0.0])
                    a[0] += c
                    a[1] += v if c else 0.0
        return [((start_ms + k * step_ms) / 1000.0, c, v) for k, (c, v) in sorted(acc.items())]


def _check_range(start: float, end: float, step: float, max_points: int) -> None:
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise QueryError("end must not be before start")
    if not math.isfinite(step) or step <= 0:
        raise QueryError("step must be a positive number of seconds")
    if (end - start) / step + 1 > max_points:
        raise QueryError(f"more than {max_points} points per series: raise step")
