"""The embedded time-series engine: compressed per-series chunks in SQLite, a head in memory
backed by a write-ahead log, and three tiers (raw, 1-minute and 1-hour rollups).

Write path: :meth:`TieredStore.write` appends each accepted sample to its series' head (two
packed arrays) and the whole batch to the WAL as one CRC-checked record, then ``fsync``s: a
write that returned survives ``kill -9``; a restart replays the WAL. When a sample crosses the
head's window (``window_s``, default 600 s, aligned to the epoch) the head is flushed: per series
one raw chunk, one 1-minute and one 1-hour rollup chunk (:mod:`.codec`), all in one SQLite
transaction; then the WAL is replaced by what is left in the head.

**Out-of-order and duplicate rule** (as Prometheus): per series, a sample whose timestamp (ms) is
not after the newest accepted one is dropped and counted in
``autobot_store_samples_rejected_total{reason="duplicate"|"out_of_order"}``; the first value
written for a timestamp wins. Samples stamped ahead of the wall clock (a clock that was stepped
forward, then back) are deleted by :meth:`TieredStore.drop_after`, which the hub calls at start
and on each backward clock step, so they never block new writes.

Retention and size caps (:meth:`enforce_retention`) drop whole chunks: those whose last sample is
older than the tier's retention, then the oldest while a tier is over its byte cap. The same call
merges small closed chunks (raw into 2 h, 1-minute into 1 day, 1-hour into 30 days) so the chunk
count stays low and compression improves. A chunk whose CRC or encoding is bad is skipped at read
time, logged once and counted (``autobot_store_chunks_corrupt_total``). A failed flush (disk
full) makes :meth:`write` refuse batches with :class:`StoreError` until a flush succeeds; memory
stays bounded because nothing more is accepted. ``max_disk_bytes`` caps every file of the store
(each file whose name starts with the store's path: the database, SQLite's ``-wal``/``-shm``, the
head's ``.wal``, the lock file; the database counts its pages in use, so pages freed by retention
are reused). The head is flushed early enough to keep room for its flush (taken as twice the
log's bytes, as chunks pass through SQLite's journal); a batch that still does not fit is refused,
until a tenth of the cap is free again. Refusals and recoveries are logged once per state change.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import sqlite3
import threading
import time
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import StoreError
from ..model import is_cumulative
from . import codec
from .base import WriteSample
from .metadata import MetadataTable, MetricMeta
from .reader import ReadMixin
from .stats import StoreStats
from .wal import Wal
from .wal import encode as wal_record

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL,
    type TEXT NOT NULL, last_ts INTEGER, last_v BLOB, UNIQUE (name, labels));
CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,
    tier INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, n INTEGER NOT NULL,
    size INTEGER NOT NULL, crc INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_series ON chunks (series_id, tier, start_ms);
CREATE INDEX IF NOT EXISTS chunks_age ON chunks (tier, end_ms);
"""


@dataclass(frozen=True)
class Tier:
    """``name``; ``res_ms`` bucket size (0 = raw samples); ``retention_s``; ``max_bytes`` cap on
    its chunk bytes (None = none); ``merge_ms`` span closed chunks are merged into."""

    name: str
    res_ms: int
    retention_s: float
    max_bytes: int | None
    merge_ms: int


def default_tiers(raw_days: float = 15, m1_days: float = 90, h1_days: float = 730,
                  caps: tuple[int | None, int | None, int | None] = (None, None, None)) -> tuple[Tier, ...]:
    return (Tier("raw", 0, raw_days * 86400, caps[0], 2 * 3_600_000),
            Tier("1m", 60_000, m1_days * 86400, caps[1], 86_400_000),
            Tier("1h", 3_600_000, h1_days * 86400, caps[2], 86_400_000))


class _Series:
    __slots__ = ("id", "name", "labels", "ldict", "type", "ts", "vals", "last_ts", "prev_t",
                 "prev_v", "persisted")

    def __init__(self, sid: int, name: str, labels: tuple, type_: str):
        self.id, self.name, self.labels, self.type = sid, name, labels, type_
        self.ldict = dict(labels)
        self.ts, self.vals = array("q"), array("d")
        self.last_ts = -(1 << 62)
        self.prev_t: int | None = None
        self.prev_v: float | None = None
        self.persisted = False


class TieredStore(ReadMixin):
    """Store in SQLite file ``path`` with its WAL at ``path + ".wal"``. ``tiers`` from
    :func:`default_tiers`; ``window_s`` the head window; ``max_disk_bytes`` caps the bytes of
    every file of the store (see the module doc; writes are refused past it);
    ``max_head_samples`` forces a flush. Errors: StoreError when
    the file cannot be opened."""

    def __init__(self, path: str, tiers: tuple[Tier, ...] | None = None, window_s: int = 600,
                 max_disk_bytes: int | None = None, max_head_samples: int = 5_000_000):
        self.path = path
        self.tiers = tiers or default_tiers()
        self.window_ms = int(window_s * 1000)
        self.max_head = max_head_samples
        self.max_disk_bytes = max_disk_bytes
        self.stats = StoreStats([t.name for t in self.tiers])
        self._lock = threading.RLock()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._by_key: dict[tuple[str, tuple], _Series] = {}
        self._by_name: dict[str, list[_Series]] = {}
        self._dirty: set[_Series] = set()
        self._head_n = 0
        self._window_end: int | None = None
        self._newest_ms: int | None = None
        self._gen = 0
        self._next_id = 1
        self._closed = False
        self._refusing: str | None = None
        self._tier_bytes = [0] * len(self.tiers)
        self._meta = MetadataTable()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lockf = _lock_file(path + ".lock")
        try:
            self._open(path, max_disk_bytes)
        except BaseException:
            os.close(self._lockf)
            raise

    def _open(self, path: str, max_disk_bytes: int | None) -> None:
        try:
            self._w = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._w.execute("PRAGMA journal_mode=WAL")
            self._w.execute("PRAGMA synchronous=FULL")
            if max_disk_bytes:
                page = self._w.execute("PRAGMA page_size").fetchone()[0]
                self._w.execute(f"PRAGMA max_page_count={max(2, int(max_disk_bytes) // page)}")
            self._w.executescript(_SCHEMA)
            self._meta.load(self._w)
            self._load()
        except sqlite3.Error as e:
            raise StoreError(f"cannot open store {path}: {e}") from e
        self._wal = Wal(path + ".wal")
        self._replay()

    # -- open / replay ------------------------------------------------------------------------
    def _load(self) -> None:
        for sid, name, labels, type_, last_ts, last_v in self._w.execute(
                "SELECT id, name, labels, type, last_ts, last_v FROM series"):
            ser = self._add_series(sid, name, tuple(sorted(json.loads(labels).items())), type_)
            ser.persisted = True
            if last_ts is not None:
                ser.last_ts = ser.prev_t = last_ts
                ser.prev_v = float(np.frombuffer(last_v, np.float64)[0]) if last_v else math.nan
                self._newest_ms = max(self._newest_ms or last_ts, last_ts)
        for tier, size in self._w.execute("SELECT tier, SUM(size) FROM chunks GROUP BY tier"):
            if 0 <= tier < len(self._tier_bytes):
                self._tier_bytes[tier] = size or 0

    def _add_series(self, sid: int, name: str, labels: tuple, type_: str) -> _Series:
        ser = _Series(sid, name, labels, type_)
        self._by_key[(name, labels)] = ser
        self._by_name.setdefault(name, []).append(ser)
        self._next_id = max(self._next_id, sid + 1)
        return ser

    def _replay(self) -> None:
        records, dropped = self._wal.replay()
        by_id = {s.id: s for s in self._by_key.values()}
        n = 0
        for defs, ids, ts, vals in records:
            for sid, type_, name, labels in defs:
                if sid not in by_id:
                    by_id[sid] = self._by_key.get((name, labels)) or self._add_series(sid, name, labels, type_)
            for sid, t, v in zip(ids, ts, vals, strict=True):
                ser = by_id.get(sid)
                if ser is not None and t > ser.last_ts:
                    self._append(ser, t, v)
                    n += 1
        self.stats.wal_replayed += n
        if dropped[0]:
            log.warning("write-ahead log %s: dropped %d bytes of a torn or corrupt last record "
                        "(the write in flight when the hub stopped)", self._wal.path, dropped[0])
        if n:
            log.info("replayed %d samples from the write-ahead log %s", n, self._wal.path)
        # start a clean log holding exactly the head (drops any torn tail)
        self._wal.rewrite(self._head_record())

    def _append(self, ser: _Series, t: int, v: float) -> None:
        if not ser.ts:
            self._dirty.add(ser)
        ser.ts.append(t)
        ser.vals.append(v)
        ser.last_ts = t
        self._head_n += 1
        if self._window_end is None:
            self._window_end = (t // self.window_ms + 1) * self.window_ms
        if self._newest_ms is None or t > self._newest_ms:
            self._newest_ms = t

    def _head_record(self) -> bytes | None:
        if not self._dirty:
            return None
        defs = [(s.id, s.type, s.name, s.labels) for s in self._dirty if not s.persisted]
        ids, ts, vals = array("I"), array("q"), array("d")
        for s in self._dirty:
            ids.extend([s.id] * len(s.ts))
            ts.extend(s.ts)
            vals.extend(s.vals)
        return wal_record(defs, ids, ts, vals)

    # -- write --------------------------------------------------------------------------------
    def write(self, samples: Iterable[WriteSample]) -> int:
        """Accept a batch (see the module doc for the rules); returns how many samples were
        accepted. Raises StoreError when the store refuses writes (flush or WAL failing)."""
        batch = samples if isinstance(samples, list) else list(samples)
        if not batch:
            return 0
        with self._lock:
            if self._closed:
                raise StoreError("store is closed")
            max_ms = int(round(max(s.ts for s in batch) * 1000))
            over = self._head_n + len(batch) > self.max_head
            if self._head_n and (over or self._refusing or max_ms >= (self._window_end or 0)):
                self._flush(None if over else self._window_end, refuse=len(batch))
            self._check_cap(len(batch))
            defs, ids, tss, vals, touched = [], array("I"), array("q"), array("d"), []
            by_key, dup, ooo, noted = self._by_key, 0, 0, self._meta.by_sample
            for s in batch:
                if s.name not in noted:
                    self._meta.note(s)
                ser = by_key.get((s.name, s.labels))
                if ser is None:  # a series aggregates as a counter or not: its type says which
                    kind = "counter" if is_cumulative(s.type, s.name) else s.type
                    ser = self._add_series(self._next_id, s.name, s.labels, kind)
                    defs.append((ser.id, kind, s.name, s.labels))
                t = int(round(s.ts * 1000))
                if t <= ser.last_ts:
                    if t == ser.last_ts:
                        dup += 1
                    else:
                        ooo += 1
                    continue
                touched.append((ser, ser.last_ts))
                self._append(ser, t, s.value)
                ids.append(ser.id)
                tss.append(t)
                vals.append(s.value)
            try:
                self._wal.append(wal_record(defs, ids, tss, vals))
            except StoreError as e:
                self._rollback(touched, defs)
                self._refuse(str(e), len(batch))
            if self._refusing:
                log.warning("store %s accepts writes again", self.path)
                self._refusing = None
            self.stats.appended += len(ids)
            self.stats.rejected["duplicate"] += dup
            self.stats.rejected["out_of_order"] += ooo
            return len(ids)

    def _rollback(self, touched: list, defs: list) -> None:
        for ser, old in reversed(touched):
            ser.ts.pop()
            ser.vals.pop()
            ser.last_ts = old
            self._head_n -= 1
            if not ser.ts:
                self._dirty.discard(ser)
        for _sid, _, name, labels in defs:
            ser = self._by_key.pop((name, labels))
            self._by_name[name].remove(ser)
            if not self._by_name[name]:
                del self._by_name[name]
        if not self._dirty:
            self._window_end = None

    def _refuse(self, why: str, n: int, detail: str = "") -> None:
        """Count ``n`` refused samples and raise StoreError(``why`` + ``detail``); logs only
        when ``why`` differs from the current refusal (``detail`` may change every call)."""
        self.stats.refused += n
        if self._refusing != why:
            log.error("store %s refuses writes: %s%s", self.path, why, detail)
        self._refusing = why
        raise StoreError(f"store refuses writes: {why}{detail}")

    def flush(self) -> None:
        """Move the whole head to chunks now (also done by :meth:`close`)."""
        with self._lock:
            if self._head_n:
                self._flush(None, refuse=0)

    def _flush(self, cut: int | None, refuse: int) -> None:
        t0 = time.perf_counter()
        rows, upd = [], []
        for ser in self._dirty:
            ts = np.array(ser.ts, np.int64)
            vs = np.array(ser.vals, np.float64)
            k = len(ts) if cut is None else int(np.searchsorted(ts, cut))
            if k == 0:
                continue
            t, v = ts[:k], vs[:k]
            blob = codec.encode_raw(t, v)
            rows.append((ser.id, 0, int(t[0]), int(t[-1]), k, len(blob), zlib.crc32(blob), blob))
            b = codec.raw_buckets(t, v, ser.type == "counter", ser.prev_t, ser.prev_v)
            for i, tier in enumerate(self.tiers[1:], 1):
                r = codec.rollup(b, tier.res_ms)
                blob = codec.encode_rollup(r)
                rows.append((ser.id, i, int(r.t[0]), int(r.t[-1]) + tier.res_ms - 1, len(r),
                             len(blob), zlib.crc32(blob), blob))
            upd.append((ser, k, int(t[-1]), float(v[-1])))
        new = [s for s in self._dirty if not s.persisted]
        try:
            self._w.execute("BEGIN")
            self._w.executemany("INSERT OR IGNORE INTO series (id, name, labels, type) VALUES (?, ?, ?, ?)",
                                [(s.id, s.name, json.dumps(s.ldict, sort_keys=True, separators=(",", ":")),
                                  s.type) for s in new])
            self._w.executemany("INSERT INTO chunks (series_id, tier, start_ms, end_ms, n, size, crc, data) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._w.executemany("UPDATE series SET last_ts=?, last_v=? WHERE id=?",
                                [(pt, np.float64(pv).tobytes(), s.id) for s, _, pt, pv in upd])
            self._meta.persist(self._w)
            self._w.execute("COMMIT")
        except sqlite3.Error as e:
            if self._w.in_transaction:
                self._w.execute("ROLLBACK")
            self.stats.flush_errors += 1
            if refuse:
                self._refuse(f"cannot flush to {self.path}: {e}", refuse)
            raise StoreError(f"cannot flush to {self.path}: {e}") from e
        if self._refusing:
            log.warning("store %s accepts writes again", self.path)
        self._refusing = None
        self._meta.persisted()
        for s in new:
            s.persisted = True
        for ser, k, pt, pv in upd:
            del ser.ts[:k]
            del ser.vals[:k]
            ser.prev_t, ser.prev_v = pt, pv
            self._head_n -= k
        for r in rows:
            self._tier_bytes[r[1]] += r[5]
        self._dirty = {s for s in self._dirty if s.ts}
        self._window_end = None
        if self._dirty:
            first = min(s.ts[0] for s in self._dirty)
            self._window_end = (first // self.window_ms + 1) * self.window_ms
        self._gen += 1
        try:
            self._wal.rewrite(self._head_record())
        except StoreError as e:  # data is safe in SQLite; replay would only see duplicates
            log.error("%s", e)
        self.stats.flushes += 1
        self.stats.flush_seconds = time.perf_counter() - t0

    def metadata(self, name: str | None = None) -> dict[str, MetricMeta]:
        """Type, unit and help per family (of every family, or of the one ``name`` belongs to;
        see :class:`~.metadata.MetadataTable`)."""
        with self._lock:
            return self._meta.get(name)

    def drop_after(self, t: float) -> int:
        """Delete every sample stamped after ``t`` (Unix seconds): what a wall clock that was
        ahead wrote (see :mod:`.future`). Returns the raw samples deleted; raises StoreError."""
        from .future import drop_after

        return drop_after(self, int(t * 1000))

    # -- maintenance / self-metrics / close (see maintenance.py) ---------------------------------
    def enforce_retention(self, now: float) -> int:
        from .maintenance import enforce

        return enforce(self, now)

    def families(self) -> list:
        with self._lock:
            return self.stats.families(self._tier_bytes, len(self._by_key), self._head_n,
                                       self._wal.size(), self._refusing is not None, self._disk_bytes())

    def _disk_bytes(self) -> int:
        from .diskcap import disk_bytes

        return disk_bytes(self)

    def _check_cap(self, n: int) -> None:
        from .diskcap import check_cap

        check_cap(self, n)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self.flush()
            except StoreError as e:
                log.error("final flush failed (the WAL keeps the samples): %s", e)
            self._closed = True
            self._wal.close()
            os.close(self._lockf)
            for c in [self._w, *self._conns]:
                try:
                    c.close()
                except sqlite3.Error:
                    pass


def _lock_file(path: str) -> int:
    """Hold an exclusive lock on ``path`` for the store's life: one writer process per store
    (released by the kernel even on ``kill -9``). Raises StoreError when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"cannot create lock file {path}: {e.strerror}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StoreError(f"store {path[:-5]} is in use by another process (a running hub?)") from None
    return fd
