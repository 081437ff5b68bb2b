"""The head of the embedded store: every known series, and its recent samples in memory, backed by
the write-ahead log (:mod:`.wal`).

A batch is appended to the series' heads (two packed arrays each) and to the log as one record,
then ``fsync``ed (:meth:`Head.append`). The out-of-order rule lives here: per series, a sample
whose timestamp (ms) is not after the newest accepted one is dropped (a *duplicate* when equal,
else *out of order*). The head's window is ``window_ms`` aligned to the epoch: :attr:`window_end`
is the end of the window of its oldest sample; the engine flushes when a batch crosses it.
After a flush (:meth:`Head.flushed`) or a cut (:meth:`Head.cut_after`) the log is replaced by
one holding exactly what is left in the head. The head does no locking: its owner (the engine)
calls it under the store's lock.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import StoreError
from ..model import Labels, is_cumulative
from .base import Series
from .matchers import Matcher, match_all
from .wal import SeriesDef, Wal
from .wal import encode as wal_record

log = logging.getLogger(__name__)

NEVER = -(1 << 62)  # last_ts of a series with no sample yet


class HeadSeries:
    """One series: ``id`` (its row in the chunk store), ``name``, sorted ``labels`` (and
    ``ldict``), ``type``; head samples ``ts`` (ms) / ``vals``; ``last_ts`` the newest accepted
    timestamp; ``prev_t``/``prev_v`` the newest sample already in chunks (counter increases
    continue from it); ``persisted`` once the chunk store has its row."""

    __slots__ = ("id", "name", "labels", "ldict", "type", "ts", "vals", "last_ts", "prev_t",
                 "prev_v", "persisted")

    def __init__(self, sid: int, name: str, labels: Labels, type_: str):
        self.id, self.name, self.labels, self.type = sid, name, labels, type_
        self.ldict = dict(labels)
        self.ts, self.vals = array("q"), array("d")
        self.last_ts = NEVER
        self.prev_t: int | None = None
        self.prev_v: float | None = None
        self.persisted = False


class HeadView(NamedTuple):
    """A copy of one series' head for a read: ``ts`` (int64 ms) and ``vals`` arrays, and the
    newest flushed sample ``prev_t``/``prev_v`` (None when none)."""

    id: int
    labels: dict[str, str]
    type: str
    ts: np.ndarray
    vals: np.ndarray
    prev_t: int | None
    prev_v: float | None


@dataclass(frozen=True, slots=True)
class FlushPart:
    """The ``k`` oldest head samples of ``series`` that a flush moves to chunks."""

    series: HeadSeries
    k: int
    ts: np.ndarray
    vals: np.ndarray


class Head:
    """Series registry and in-memory samples; the log at ``wal_path``; windows of ``window_ms``."""

    def __init__(self, wal_path: str, window_ms: int):
        self.window_ms = window_ms
        self.wal = Wal(wal_path)
        self.by_key: dict[tuple[str, Labels], HeadSeries] = {}
        self.by_name: dict[str, list[HeadSeries]] = {}
        self.samples = 0  # samples held (all series)
        self.window_end: int | None = None
        self.newest_ms: int | None = None
        self.generation = 0  # bumped whenever samples leave the head (reads retry on a change)
        self._dirty: set[HeadSeries] = set()  # series with head samples
        self._next_id = 1

    # -- registry ---------------------------------------------------------------------------
    def add_persisted(self, sid: int, name: str, labels: Labels, type_: str,
                      last: tuple[int, float] | None) -> None:
        """Register a series the chunk store holds; ``last`` its newest stored (ms, value)."""
        ser = self._add(sid, name, labels, type_)
        ser.persisted = True
        if last is not None:
            ser.last_ts = ser.prev_t = last[0]
            ser.prev_v = last[1]
            self.newest_ms = max(self.newest_ms or last[0], last[0])

    def _add(self, sid: int, name: str, labels: Labels, type_: str) -> HeadSeries:
        ser = HeadSeries(sid, name, labels, type_)
        self.by_key[(name, labels)] = ser
        self.by_name.setdefault(name, []).append(ser)
        self._next_id = max(self._next_id, sid + 1)
        return ser

    def _forget(self, ser: HeadSeries) -> None:
        del self.by_key[(ser.name, ser.labels)]
        self.by_name[ser.name].remove(ser)
        if not self.by_name[ser.name]:
            del self.by_name[ser.name]

    def names(self) -> list[str]:
        """Every known metric name, sorted."""
        return sorted(self.by_name)

    def listing(self, name: str | None = None) -> list[tuple[str, dict[str, str], str]]:
        """``[(name, labels, type)]`` of every known series (of ``name``)."""
        return [(s.name, dict(s.ldict), s.type) for s in self.by_key.values()
                if name is None or s.name == name]

    def select(self, name: str, matchers: list[Matcher]) -> list[HeadView]:
        """Copies of the heads of series ``name`` matching ``matchers``."""
        return [HeadView(s.id, s.ldict, s.type, np.array(s.ts, np.int64), np.array(s.vals),
                         s.prev_t, s.prev_v)
                for s in self.by_name.get(name, ()) if match_all(matchers, s.ldict)]

    # -- replay / append --------------------------------------------------------------------
    def replay(self) -> int:
        """Append the log's intact records (a torn tail is dropped and logged), then start a
        clean log holding exactly the head. Returns the samples replayed; raises StoreError
        when the log cannot be rewritten."""
        records, dropped = self.wal.replay()
        by_id = {s.id: s for s in self.by_key.values()}
        n = 0
        for defs, ids, ts, vals in records:
            for sid, type_, name, labels in defs:
                if sid not in by_id:
                    by_id[sid] = self.by_key.get((name, labels)) or self._add(sid, name, labels, type_)
            for sid, t, v in zip(ids, ts, vals, strict=True):
                ser = by_id.get(sid)
                if ser is not None and t > ser.last_ts:
                    self._push(ser, t, v)
                    n += 1
        if dropped[0]:
            log.warning("write-ahead log %s: dropped %d bytes of a torn or corrupt last record "
                        "(the write in flight when the hub stopped)", self.wal.path, dropped[0])
        if n:
            log.info("replayed %d samples from the write-ahead log %s", n, self.wal.path)
        self.wal.rewrite(self._record())
        return n

    def _push(self, ser: HeadSeries, t: int, v: float) -> None:
        if not ser.ts:
            self._dirty.add(ser)
        ser.ts.append(t)
        ser.vals.append(v)
        ser.last_ts = t
        self.samples += 1
        if self.window_end is None:
            self.window_end = (t // self.window_ms + 1) * self.window_ms
        if self.newest_ms is None or t > self.newest_ms:
            self.newest_ms = t

    def _record(self) -> bytes | None:
        """One log record holding the whole head (None when it is empty)."""
        if not self._dirty:
            return None
        defs = [(s.id, s.type, s.name, s.labels) for s in self._dirty if not s.persisted]
        ids, ts, vals = array("I"), array("q"), array("d")
        for s in self._dirty:
            ids.extend([s.id] * len(s.ts))
            ts.extend(s.ts)
            vals.extend(s.vals)
        return wal_record(defs, ids, ts, vals)

    def series_for(self, name: str, labels: dict[str, str], type_: str,
                   defs: list[SeriesDef]) -> HeadSeries:
        """The series ``name``/``labels``; a new one is registered (and appended to ``defs``).
        Labels of a dict built in sorted order (the usual case) need no sort."""
        ser = self.by_key.get((name, tuple(labels.items())))
        if ser is None:
            key = tuple(sorted(labels.items()))
            ser = self.by_key.get((name, key))
            if ser is None:  # a series aggregates as a counter or not: its type says which
                kind = "counter" if is_cumulative(type_, name) else type_
                ser = self._add(self._next_id, name, key, kind)
                defs.append((ser.id, kind, name, key))
        return ser

    def append(self, batch: Iterable[Series]) -> tuple[int, int, int]:
        """Append the points of ``batch`` (None values as NaN) and log them (one fsynced record).
        Returns (accepted, duplicates, out of order). Raises StoreError when the log fails; the
        head is then as before."""
        defs: list[SeriesDef] = []
        ids, tss, vals = array("I"), array("q"), array("d")
        touched: list[tuple[HeadSeries, int]] = []  # per sample appended: its series' last_ts before
        dup = ooo = 0
        by_key = self.by_key
        for s in batch:
            if not s.points:
                continue
            ser = by_key.get((s.name, tuple(s.labels.items())))
            if ser is None:
                ser = self.series_for(s.name, s.labels, s.type, defs)
            sts, svals = ser.ts, ser.vals
            for ts, value in s.points:
                t = round(ts * 1000)
                if t <= ser.last_ts:
                    dup, ooo = (dup + 1, ooo) if t == ser.last_ts else (dup, ooo + 1)
                    continue
                v = math.nan if value is None else value
                touched.append((ser, ser.last_ts))
                sts.append(t)
                svals.append(v)
                ser.last_ts = t
                ids.append(ser.id)
                tss.append(t)
                vals.append(v)
        try:
            self.wal.append(wal_record(defs, ids, tss, vals))
        except StoreError:
            self._rollback(touched, defs)
            raise
        if ids:
            self._dirty.update(ser for ser, _ in touched)
            self.samples += len(ids)
            if self.window_end is None:
                self.window_end = (tss[0] // self.window_ms + 1) * self.window_ms
            newest = max(tss)
            if self.newest_ms is None or newest > self.newest_ms:
                self.newest_ms = newest
        return len(ids), dup, ooo

    def _rollback(self, touched: list[tuple[HeadSeries, int]], defs: list[SeriesDef]) -> None:
        """Undo the appends of a batch the log refused (the counters were not changed yet)."""
        for ser, old in reversed(touched):
            ser.ts.pop()
            ser.vals.pop()
            ser.last_ts = old
        for _sid, _, name, labels in defs:
            self._forget(self.by_key[(name, labels)])

    # -- flush ------------------------------------------------------------------------------
    def flush_parts(self, cut: int | None) -> list[FlushPart]:
        """Per series, its head samples before ``cut`` (ms; all of them when None)."""
        out = []
        for ser in self._dirty:
            ts = np.array(ser.ts, np.int64)
            k = len(ts) if cut is None else int(np.searchsorted(ts, cut))
            if k:
                out.append(FlushPart(ser, k, ts[:k], np.array(ser.vals[:k], np.float64)))
        return out

    def new_series(self) -> list[HeadSeries]:
        """Series with head samples the chunk store has no row for yet."""
        return [s for s in self._dirty if not s.persisted]

    def flushed(self, parts: list[FlushPart], new: list[HeadSeries]) -> None:
        """The chunk store now holds ``parts`` and rows for ``new``: drop them from the head and
        rewrite the log (a failure is logged: the data is safe in chunks, a replay would only
        see duplicates)."""
        for s in new:
            s.persisted = True
        for p in parts:
            del p.series.ts[:p.k]
            del p.series.vals[:p.k]
            p.series.prev_t, p.series.prev_v = int(p.ts[-1]), float(p.vals[-1])
            self.samples -= p.k
        self._settle()

    def _settle(self) -> None:
        """After samples left the head: recompute the window, bump the generation, rewrite the log."""
        self._dirty = {s for s in self._dirty if s.ts}
        self.window_end = None
        if self._dirty:
            first = min(s.ts[0] for s in self._dirty)
            self.window_end = (first // self.window_ms + 1) * self.window_ms
        self.generation += 1
        try:
            self.wal.rewrite(self._record())
        except StoreError as e:
            log.error("%s", e)

    # -- samples stamped in the future (see .future) ----------------------------------------
    def cut_plan(self, cut_ms: int) -> list[tuple[HeadSeries, int]]:
        """Series with samples after ``cut_ms`` and how many head samples each keeps."""
        return [(s, int(np.searchsorted(np.array(s.ts, np.int64), cut_ms, side="right")))
                for s in self.by_key.values() if s.last_ts > cut_ms]

    def cut_after(self, plan: list[tuple[HeadSeries, int]],
                  newest: dict[int, tuple[int | None, float | None]]) -> int:
        """Cut each series' head at its planned length; a series left with no head takes its
        newest (ms, value) from ``newest`` (by series id: what its chunks hold); one known only
        to the log is forgotten. Returns the samples deleted."""
        n = 0
        for ser, k in plan:
            n += len(ser.ts) - k
            del ser.ts[k:]
            del ser.vals[k:]
            if ser.ts:
                ser.last_ts = ser.ts[-1]
            elif not ser.persisted:
                self._forget(ser)
            else:
                ser.prev_t, ser.prev_v = newest.get(ser.id, (None, None))
                ser.last_ts = NEVER if ser.prev_t is None else ser.prev_t
        self.samples -= n
        lasts = [s.last_ts for s in self.by_key.values() if s.last_ts > NEVER]
        self.newest_ms = max(lasts) if lasts else None
        self._settle()
        return n

