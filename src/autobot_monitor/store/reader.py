"""Read paths of :class:`~.engine.TieredStore`: tier choice, range queries, raw samples, mean.

A read copies the matching series' head under the store lock, reads their chunks from SQLite
(its own connection per thread), and retries when a flush moved head samples into chunks in
between (the store's generation changed), so no sample is seen twice or missed.
"""

from __future__ import annotations

import math
import sqlite3
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import QueryError, StoreError
from . import codec
from .base import MAX_POINTS, QueryResult, SeriesPoints
from .matchers import Matcher, match_all, to_matchers

LOOKBACK_MS = 300_000  # read before a range's start: is its first step inside a hole?


class ReadMixin:
    """Needs the engine's ``_lock``, ``_local``, ``_conns``, ``_closed``, ``path``, ``tiers``,
    ``stats``, ``_by_name``, ``_by_key``, ``_gen`` and ``_newest_ms``."""

    # -- reads ----------------------------------------------------------------------------------
    def _rconn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("store is closed")
        c = getattr(self._local, "conn", None)
        if c is None:
            try:
                c = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            except sqlite3.Error as e:
                raise StoreError(f"cannot open store {self.path}: {e}") from e
            self._local.conn = c
            with self._lock:
                self._conns.append(c)
        return c

    def _select(self, name: str, matchers: list[Matcher]) -> tuple[list, int]:
        with self._lock:
            out = [(s.id, s.name, s.ldict, s.type, np.array(s.ts, np.int64), np.array(s.vals),
                    s.prev_t, s.prev_v) for s in self._by_name.get(name, ())
                   if match_all(matchers, s.ldict)]
            return out, self._gen

    def _chunks(self, sid: int, tier: int, start_ms: int, end_ms: int) -> list:
        try:
            rows = self._rconn().execute(
                "SELECT id, crc, data FROM chunks WHERE series_id=? AND tier=? AND start_ms<=? "
                "AND end_ms>=? ORDER BY start_ms, id", (sid, tier, end_ms, start_ms)).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"cannot read store {self.path}: {e}") from e
        out = []
        for cid, crc, data in rows:
            try:
                if zlib.crc32(data) != crc:
                    raise ValueError("checksum mismatch")
                out.append(codec.decode_raw(data) if tier == 0 else codec.decode_rollup(data))
            except ValueError as e:
                self.stats.corrupt_chunk(cid, self.tiers[tier].name, str(e), self.path)
        return out

    def _buckets(self, sel: tuple, tier: int, start_ms: int, end_ms: int) -> codec.Buckets:
        sid, _, _, type_, hts, hvs, pt, pv = sel
        counter = type_ == "counter"
        parts = self._chunks(sid, tier, start_ms, end_ms)
        if tier == 0:
            ts = np.concatenate([p.ts for p in parts] + [hts])
            vs = np.concatenate([p.vals for p in parts] + [hvs])
            b = codec.raw_buckets(ts, vs, counter, None if parts else pt, None if parts else pv)
        else:
            b = codec.Buckets.concat([*parts, codec.raw_buckets(hts, hvs, counter, pt, pv)])
        return b.select((b.t >= start_ms) & (b.t <= end_ms))

    def choose_tier(self, start: float, end: float, step: float) -> int:
        """The coarsest tier whose resolution fits ``step``, but never a tier that no longer
        holds ``start`` (ages are counted from the newest stored sample)."""
        ref = (self._newest_ms / 1000.0) if self._newest_ms is not None else end
        fit = max(i for i, t in enumerate(self.tiers) if t.res_ms <= step * 1000)
        for i, t in enumerate(self.tiers):
            if ref - start <= t.retention_s:
                return max(fit, i)
        return len(self.tiers) - 1

    def query(self, name: str, matchers: Mapping[str, str] | Iterable[Matcher] | None,
              start: float, end: float, step: float, fn: str | None = None,
              max_points: int = MAX_POINTS) -> QueryResult:
        """Series ``name`` matching ``matchers`` over ``[start, end]`` at ``step`` seconds.
        ``fn``: None (avg for gauges, last for counters), avg, min, max, last, sum, count or
        rate (counters only, per second, resets handled). Steps inside a hole of the series are
        ``None``, steps finer than its interval are left out (:func:`.codec.steps`); no rate
        is computed across a hole. Raises QueryError for a bad range,
        step, function, more than ``max_points`` points, or rate on a non-counter."""
        _check_range(start, end, step, max_points)
        if fn not in (None, "avg", "min", "max", "last", "sum", "count", "rate"):
            raise QueryError(f"unknown function {fn!r} (use avg, min, max, last, sum, count, rate)")
        ms = to_matchers(matchers)
        tier = self.choose_tier(start, end, step)
        start_ms, end_ms, step_ms = int(start * 1000), int(end * 1000), max(1, int(step * 1000))
        for _ in range(5):
            sel, gen = self._select(name, ms)
            if fn == "rate" and any(s[3] != "counter" for s in sel):
                raise QueryError(f"rate applies to counters; {name} is a {sel[0][3]}")
            out = []
            look = max(2 * step_ms, LOOKBACK_MS)  # tells whether the first steps are in a hole
            for s in sel:
                f = fn or ("last" if s[3] == "counter" else "avg")
                pts = codec.steps(self._buckets(s, tier, start_ms - look, end_ms), start_ms, end_ms,
                                  step_ms, f, self.tiers[tier].res_ms, self._newest_ms)
                if pts:
                    out.append(SeriesPoints(name, dict(s[2]), pts))
            if gen == self._gen:
                break
        out.sort(key=lambda s: sorted(s.labels.items()))
        return QueryResult(self.tiers[tier].name, out)

    def query_range(self, name: str, matchers: Mapping[str, str] | Iterable[Matcher] | None,
                    start: float, end: float, step: float, fn: str | None = None) -> list[SeriesPoints]:
        return self.query(name, matchers, start, end, step, fn).series

    def raw_samples(self, name: str, matchers, start: float, end: float) -> list[SeriesPoints]:
        """Every stored raw sample (exact values, NaN/±Inf included) in ``[start, end]``."""
        if end < start:
            raise QueryError("end must not be before start")
        ms, out = to_matchers(matchers), []
        start_ms, end_ms = int(start * 1000), int(end * 1000)
        for _ in range(5):
            sel, gen = self._select(name, ms)
            out = []
            for s in sel:
                b = self._buckets(s, 0, start_ms, end_ms)
                if len(b):
                    out.append(SeriesPoints(name, dict(s[2]),
                                            list(zip((b.t / 1000.0).tolist(), b.last.tolist(), strict=True))))
            if gen == self._gen:
                break
        return sorted(out, key=lambda s: sorted(s.labels.items()))

    def mean(self, name: str, matchers, start: float, end: float) -> float | None:
        """Average of every matching non-NaN sample in ``[start, end]`` (rollup tiers for long
        ranges: their buckets count whole at the range edges); None when there is none."""
        if end < start:
            return None
        tier = self.choose_tier(start, end, max((end - start) / 100, 1e-3))
        sel, _ = self._select(name, to_matchers(matchers))
        tot = cnt = 0.0
        for s in sel:
            b = self._buckets(s, tier, int(start * 1000), int(end * 1000))
            tot += float(b.sum.sum())
            cnt += float(b.count.sum())
        return tot / cnt if cnt else None

    def tally(self, name: str, matchers, start: float, end: float,
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
            b = self._buckets(s, tier, start_ms, end_ms)
            if len(b):
                keys, cnt = codec.aggregate_keys(b, start_ms, step_ms, "count")
                _, tot = codec.aggregate_keys(b, start_ms, step_ms, "sum")
                for k, c, v in zip(keys.tolist(), cnt.tolist(), tot.tolist(), strict=True):
                    a = acc.setdefault(k, [0.0, 0.0])
                    a[0] += c
                    a[1] += v if c else 0.0
        return [((start_ms + k * step_ms) / 1000.0, c, v) for k, (c, v) in sorted(acc.items())]

    def metric_names(self) -> list[str]:
        with self._lock:
            return sorted(self._by_name)

    def series(self, name: str | None = None) -> list[tuple[str, dict[str, str], str]]:
        """``[(name, labels, type)]`` of every known series (of ``name``)."""
        with self._lock:
            return [(s.name, dict(s.ldict), s.type) for s in self._by_key.values()
                    if name is None or s.name == name]



def _check_range(start: float, end: float, step: float, max_points: int) -> None:
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise QueryError("end must not be before start")
    if not math.isfinite(step) or step <= 0:
        raise QueryError("step must be a positive number of seconds")
    if (end - start) / step + 1 > max_points:
        raise QueryError(f"more than {max_points} points per series: raise step")
