"""The chunk store of the embedded store: compressed chunks (:mod:`.codec`) of every series in one
SQLite file, per tier (raw samples, 1-minute and 1-hour rollups).

Tables: ``series`` (id, name, labels as JSON, type, and the newest flushed sample ``last_ts`` /
``last_v``, so a restart knows where each series stands) and ``chunks`` (series, tier, first and
last ms, sample or bucket count, size, CRC-32 and the blob). :meth:`ChunkStore.persist` writes a
flush (per series one raw chunk and one rollup chunk per rollup tier) in one transaction. Reads
use one connection per thread; a chunk whose CRC or encoding is bad is skipped, logged once and
counted (:meth:`~.stats.StoreStats.corrupt_chunk`). Retention, merging and size caps live in
:mod:`.maintenance`, cutting chunks at a time in :mod:`.future`; both work on this class.
Writes are not locked here: the engine calls them under the store's lock.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import StoreError
from ..model import Labels
from . import codec
from .metadata import MetadataTable
from .stats import StoreStats

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL,
    type TEXT NOT NULL, last_ts INTEGER, last_v BLOB, UNIQUE (name, labels));
CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,
    tier INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, n INTEGER NOT NULL,
    size INTEGER NOT NULL, crc INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_series ON chunks (series_id, tier, start_ms);
CREATE INDEX IF NOT EXISTS chunks_age ON chunks (tier, end_ms);
"""

ChunkRow = tuple[int, int, int, int, int, int, int, bytes]  # series, tier, start, end, n, size, crc, blob


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
    """Raw (merged into 2 h chunks), 1-minute and 1-hour (merged into days) tiers keeping
    ``raw_days``/``m1_days``/``h1_days`` days, with byte ``caps`` (None = uncapped)."""
    return (Tier("raw", 0, raw_days * 86400, caps[0], 2 * 3_600_000),
            Tier("1m", 60_000, m1_days * 86400, caps[1], 86_400_000),
            Tier("1h", 3_600_000, h1_days * 86400, caps[2], 86_400_000))


class StoredSeries(NamedTuple):
    """A ``series`` row: ``last`` its newest flushed (ms, value), None before its first flush."""

    id: int
    name: str
    labels: Labels
    type: str
    last: tuple[int, float] | None


class NewSeries(NamedTuple):
    """A series the chunk store gets a row for with a flush."""

    id: int
    name: str
    labels: dict[str, str]
    type: str


class Flush(NamedTuple):
    """One series' samples to persist: ``ts`` (int64 ms, increasing), ``vals``; ``counter`` its
    type; ``prev_t``/``prev_v`` its newest sample already persisted (None when none)."""

    series_id: int
    counter: bool
    ts: np.ndarray
    vals: np.ndarray
    prev_t: int | None
    prev_v: float | None


class ChunkStore:
    """Chunks in the SQLite file ``path`` with ``tiers``; corrupt chunks counted in ``stats``.
    ``max_disk_bytes`` caps the database's pages. Raises StoreError when it cannot be opened."""

    def __init__(self, path: str, tiers: tuple[Tier, ...], stats: StoreStats,
                 max_disk_bytes: int | None = None):
        self.path, self.tiers, self.stats = path, tiers, stats
        self.tier_bytes = [0] * len(tiers)  # chunk bytes held per tier
        self.generation = 0  # bumped whenever chunks are deleted or replaced
        self.closed = False
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self.meta = MetadataTable()  # type, unit, help per family; written with each flush
        try:
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            if max_disk_bytes:
                page = self.db.execute("PRAGMA page_size").fetchone()[0]
                self.db.execute(f"PRAGMA max_page_count={max(2, int(max_disk_bytes) // page)}")
            self.db.executescript(_SCHEMA)
            self.meta.load(self.db)
            for tier, size in self.db.execute("SELECT tier, SUM(size) FROM chunks GROUP BY tier"):
                if 0 <= tier < len(self.tier_bytes):
                    self.tier_bytes[tier] = size or 0
        except sqlite3.Error as e:
            raise StoreError(f"cannot open store {path}: {e}") from e

    def series(self) -> Iterator[StoredSeries]:
        """Every ``series`` row."""
        for sid, name, labels, type_, last_ts, last_v in self.db.execute(
                "SELECT id, name, labels, type, last_ts, last_v FROM series"):
            last = None if last_ts is None else (
                last_ts, float(np.frombuffer(last_v, np.float64)[0]) if last_v else math.nan)
            yield StoredSeries(sid, name, tuple(sorted(json.loads(labels).items())), type_, last)

    # -- write ------------------------------------------------------------------------------
    def persist(self, new: list[NewSeries], flushes: list[Flush]) -> None:
        """Rows for ``new`` series, then per flush one raw chunk and one chunk per rollup tier,
        and each series' newest sample, in one transaction. Raises sqlite3.Error (rolled back)."""
        rows: list[ChunkRow] = []
        for f in flushes:
            blob = codec.encode_raw(f.ts, f.vals)
            rows.append((f.series_id, 0, int(f.ts[0]), int(f.ts[-1]), len(f.ts), len(blob),
                         zlib.crc32(blob), blob))
            b = codec.raw_buckets(f.ts, f.vals, f.counter, f.prev_t, f.prev_v)
            for i, tier in enumerate(self.tiers[1:], 1):
                r = codec.rollup(b, tier.res_ms)
                blob = codec.encode_rollup(r)
                rows.append((f.series_id, i, int(r.t[0]), int(r.t[-1]) + tier.res_ms - 1, len(r),
                             len(blob), zlib.crc32(blob), blob))
        w = self.db
        try:
            w.execute("BEGIN")
            w.executemany("INSERT OR IGNORE INTO series (id, name, labels, type) VALUES (?, ?, ?, ?)",
                          [(s.id, s.name, json.dumps(s.labels, sort_keys=True, separators=(",", ":")),
                            s.type) for s in new])
            self.insert(rows)
            w.executemany("UPDATE series SET last_ts=?, last_v=? WHERE id=?",
                          [(int(f.ts[-1]), np.float64(f.vals[-1]).tobytes(), f.series_id)
                           for f in flushes])
            self.meta.persist(w)
            w.execute("COMMIT")
        except sqlite3.Error:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise
        self.meta.persisted()
        for row in rows:
            self.tier_bytes[row[1]] += row[5]

    def insert(self, rows: list[ChunkRow]) -> None:
        """Insert chunk rows (inside the caller's transaction; ``tier_bytes`` is the caller's)."""
        self.db.executemany("INSERT INTO chunks (series_id, tier, start_ms, end_ms, n, size, crc, data) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # -- read -------------------------------------------------------------------------------
    def _rconn(self) -> sqlite3.Connection:
        if self.closed:
            raise StoreError("store is closed")
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            try:
                c = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            except sqlite3.Error as e:
                raise StoreError(f"cannot open store {self.path}: {e}") from e
            self._local.conn = c
            with self._conns_lock:
                self._conns.append(c)
        return c

    def _blobs(self, sid: int, tier: int, start_ms: int, end_ms: int) -> list[tuple[int, bytes]]:
        try:
            rows = self._rconn().execute(
                "SELECT id, crc, data FROM chunks WHERE series_id=? AND tier=? AND start_ms<=? "
                "AND end_ms>=? ORDER BY start_ms, id", (sid, tier, end_ms, start_ms)).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"cannot read store {self.path}: {e}") from e
        out = []
        for cid, crc, data in rows:
            if zlib.crc32(data) == crc:
                out.append((cid, data))
            else:
                self.stats.corrupt_chunk(cid, self.tiers[tier].name, "checksum mismatch", self.path)
        return out

    def raw_chunks(self, sid: int, start_ms: int, end_ms: int) -> list[codec.RawChunk]:
        """Readable raw chunks of series ``sid`` overlapping ``[start_ms, end_ms]``, in time
        order. Raises StoreError when SQLite fails."""
        out = []
        for cid, data in self._blobs(sid, 0, start_ms, end_ms):
            try:
                out.append(codec.decode_raw(data))
            except ValueError as e:
                self.stats.corrupt_chunk(cid, self.tiers[0].name, str(e), self.path)
        return out

    def rollup_chunks(self, sid: int, tier: int, start_ms: int, end_ms: int) -> list[codec.Buckets]:
        """Readable chunks of rollup ``tier`` (index >= 1), as :meth:`raw_chunks`."""
        out = []
        for cid, data in self._blobs(sid, tier, start_ms, end_ms):
            try:
                out.append(codec.decode_rollup(data))
            except ValueError as e:
                self.stats.corrupt_chunk(cid, self.tiers[tier].name, str(e), self.path)
        return out

    # -- disk -------------------------------------------------------------------------------
    def used_page_bytes(self) -> int:
        """Bytes of the database's pages in use (freed pages are reused, so they do not count)."""
        page, count, free = (self.db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_size", "page_count", "freelist_count"))
        return int((count - free) * page)

    def close(self) -> None:
        self.closed = True
        with self._conns_lock:
            conns = [self.db, *self._conns]
        for c in conns:
            try:
                c.close()
            except sqlite3.Error:
                pass
