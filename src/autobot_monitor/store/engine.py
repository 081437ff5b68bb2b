"""The embedded time-series engine: compressed per-series chunks in SQLite, a head in memory
backed by a write-ahead log, and three tiers (raw, 1-minute and 1-hour rollups).

:class:`TieredStore` is a facade over three parts, each given only what it needs: the *head*
(:mod:`.head`: series, recent samples, WAL), the *chunk store* (:mod:`.chunks`: SQLite chunks;
retention and merging in :mod:`.maintenance`) and the *querier* (:mod:`.querier`: selects series
and merges head and chunks). The facade holds the lock, flushes the head into chunks, enforces
the disk cap (:mod:`.diskcap`) and keeps the refusal state.

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
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import NoReturn

from ..errors import StoreError
from ..model import MetricFamily
from . import diskcap, maintenance
from .base import MAX_POINTS, Matchers, QueryResult, Series
from .chunks import ChunkStore, Flush, NewSeries, Tier, default_tiers
from .future import Emptied, cut_chunks
from .head import Head
from .metadata import MetricMeta
from .querier import Querier
from .stats import StoreStats

__all__ = ["Tier", "TieredStore", "default_tiers"]

log = logging.getLogger(__name__)


class TieredStore:
    """Store in SQLite file ``path`` with its WAL at ``path + ".wal"``. ``tiers`` from
    :func:`default_tiers`; ``window_s`` the head window; ``max_disk_bytes`` caps the bytes of
    every file of the store (see the module doc; writes are refused past it);
    ``max_head_samples`` forces a flush. Errors: StoreError when
    the file cannot be opened."""

    def __init__(self, path: str, tiers: tuple[Tier, ...] | None = None, window_s: int = 600,
                 max_disk_bytes: int | None = None, max_head_samples: int = 5_000_000):
        self.path = path
        self.tiers = tiers or default_tiers()
        self.max_head = max_head_samples
        self.max_disk_bytes = max_disk_bytes
        self.stats = StoreStats([t.name for t in self.tiers])
        self._lock = threading.RLock()
        self._closed = False
        self._refusing: str | None = None
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lockf = _lock_file(path + ".lock")
        try:
            self._chunks = ChunkStore(path, self.tiers, self.stats, max_disk_bytes)
        except BaseException:
            os.close(self._lockf)
            raise
        self._head = Head(path + ".wal", int(window_s * 1000))
        try:
            try:
                for row in self._chunks.series():
                    self._head.add_persisted(row.id, row.name, row.labels, row.type, row.last)
            except sqlite3.Error as e:
                raise StoreError(f"cannot open store {path}: {e}") from e
            self.stats.wal_replayed += self._head.replay()
        except BaseException:
            self._chunks.close()
            os.close(self._lockf)
            raise
        self._querier = Querier(self._head, self._chunks, self.tiers, self._lock)

    # -- write --------------------------------------------------------------------------------
    def write(self, batch: Iterable[Series]) -> int:
        """Accept the points of a batch of series (see the module doc for the rules); returns
        how many samples were accepted. Raises StoreError when the store refuses writes (flush
        or WAL failing)."""
        batch = batch if isinstance(batch, list) else list(batch)
        size, newest = 0, -math.inf
        for s in batch:  # points are in time order: the last is the newest
            pts = s.points
            if pts:
                size += len(pts)
                if pts[-1][0] > newest:
                    newest = pts[-1][0]
        if not size:
            return 0
        with self._lock:
            if self._closed:
                raise StoreError("store is closed")
            max_ms = int(round(newest * 1000))
            head = self._head
            over = head.samples + size > self.max_head
            if head.samples and (over or self._refusing or max_ms >= (head.window_end or 0)):
                self._flush(None if over else head.window_end, refuse=size)
            self._check_cap(size)
            noted = self._chunks.meta.by_sample
            for s in batch:
                if s.name not in noted:
                    self._chunks.meta.note(s)
            try:
                n, dup, ooo = head.append(batch)
            except StoreError as e:
                self._refuse(str(e), size)
            if self._refusing:
                log.warning("store %s accepts writes again", self.path)
                self._refusing = None
            self.stats.appended += n
            self.stats.rejected["duplicate"] += dup
            self.stats.rejected["out_of_order"] += ooo
            return n

    def metadata(self, name: str | None = None) -> dict[str, MetricMeta]:
        """Type, unit and help per family (of every family, or of the one ``name`` belongs to;
        see :class:`~.metadata.MetadataTable`)."""
        with self._lock:
            return self._chunks.meta.get(name)

    def _refuse(self, why: str, n: int, detail: str = "") -> NoReturn:
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
            if self._head.samples:
                self._flush(None, refuse=0)

    def _flush(self, cut: int | None, refuse: int) -> None:
        """Move the head's samples before ``cut`` (ms; all when None) into chunks. Raises
        StoreError when SQLite fails (through :meth:`_refuse` when ``refuse`` samples wait)."""
        t0 = time.perf_counter()
        parts = self._head.flush_parts(cut)
        new = self._head.new_series()
        try:
            self._chunks.persist([NewSeries(s.id, s.name, s.ldict, s.type) for s in new],
                                 [Flush(p.series.id, p.series.type == "counter", p.ts, p.vals,
                                        p.series.prev_t, p.series.prev_v) for p in parts])
        except sqlite3.Error as e:
            self.stats.flush_errors += 1
            if refuse:
                self._refuse(f"cannot flush to {self.path}: {e}", refuse)
            raise StoreError(f"cannot flush to {self.path}: {e}") from e
        if self._refusing:
            log.warning("store %s accepts writes again", self.path)
        self._refusing = None
        self._head.flushed(parts, new)
        self.stats.flushes += 1
        self.stats.flush_seconds = time.perf_counter() - t0

    def _check_cap(self, n: int) -> None:
        """Refuse a batch of ``n`` samples whose log record would take the store's files past
        ``max_disk_bytes``; flushes the head and truncates SQLite's journal first to make room.
        Raises StoreError (through :meth:`_refuse`: counted, logged once per state change)."""
        if not self.max_disk_bytes:
            return
        cap = diskcap.effective_cap(self.max_disk_bytes, self._refusing is not None)
        need = diskcap.batch_bytes(n)
        if diskcap.room_for(self._disk_bytes(), need, self._head.wal.size(), cap):
            return
        if self._head.samples:
            try:
                self._flush(None, refuse=0)
            except StoreError:
                pass
        try:
            self._chunks.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            log.debug("checkpoint of %s failed: %s", self.path, e)
        used = self._disk_bytes()
        if not diskcap.room_after_flush(used, need, cap):
            self._refuse(f"disk full: store files at max_disk_bytes={self.max_disk_bytes}", n,
                         f" ({used} bytes used, this batch needs {need})")

    def _disk_bytes(self) -> int:
        return diskcap.file_bytes(self.path) + self._chunks.used_page_bytes()

    def drop_after(self, t: float) -> int:
        """Delete every sample stamped after ``t`` (Unix seconds): what a wall clock that was
        ahead wrote (see :mod:`.future`). Returns the raw samples deleted; raises StoreError
        when SQLite fails (nothing is changed then)."""
        cut_ms = int(t * 1000)
        with self._lock:
            if self._closed:
                raise StoreError("store is closed")
            head = self._head
            if head.newest_ms is None or head.newest_ms <= cut_ms:
                return 0
            plan = head.cut_plan(cut_ms)
            emptied = [Emptied(s.id, s.prev_t, s.prev_v, s.persisted) for s, k in plan if k == 0]
            n_chunks, newest = cut_chunks(self._chunks, cut_ms, emptied)
            n = head.cut_after(plan, newest) + n_chunks
            self.stats.future_dropped += n
            return n

    # -- maintenance / self-metrics / close ----------------------------------------------------
    def enforce_retention(self, now: float) -> int:
        """Retention, merging and size caps at ``now`` (see :mod:`.maintenance`); returns the raw
        samples dropped. Raises StoreError when SQLite fails."""
        with self._lock:
            return maintenance.enforce(self._chunks, now)

    def families(self) -> list[MetricFamily]:
        """The store's self-metrics (:data:`~.stats.STORE_SPECS`)."""
        with self._lock:
            return self.stats.families(self._chunks.tier_bytes, len(self._head.by_key), self._head.samples,
                                       self._head.wal.size(), self._refusing is not None, self._disk_bytes())

    def close(self) -> None:
        """Flush the head (on failure the WAL keeps it), then close the files. Idempotent."""
        with self._lock:
            if self._closed:
                return
            try:
                self.flush()
            except StoreError as e:
                log.error("final flush failed (the WAL keeps the samples): %s", e)
            self._closed = True
            self._head.wal.close()
            os.close(self._lockf)
            self._chunks.close()

    # -- reads (see .querier) -----------------------------------------------------------------
    def choose_tier(self, start: float, end: float, step: float) -> int:
        return self._querier.choose_tier(start, end, step)

    def query(self, name: str, matchers: Matchers, start: float, end: float, step: float,
              fn: str | None = None, max_points: int = MAX_POINTS) -> QueryResult:
        return self._querier.query(name, matchers, start, end, step, fn, max_points)

    def query_range(self, name: str, matchers: Matchers, start: float, end: float, step: float,
                    fn: str | None = None) -> list[Series]:
        return self._querier.query(name, matchers, start, end, step, fn).series

    def raw_samples(self, name: str, matchers: Matchers, start: float, end: float) -> list[Series]:
        return self._querier.raw_samples(name, matchers, start, end)

    def mean(self, name: str, matchers: Matchers, start: float, end: float) -> float | None:
        return self._querier.mean(name, matchers, start, end)

    def tally(self, name: str, matchers: Matchers, start: float, end: float,
              step: float) -> list[tuple[float, float, float]]:
        return self._querier.tally(name, matchers, start, end, step)

    def metric_names(self) -> list[str]:
        with self._lock:
            return self._head.names()

    def series(self, name: str | None = None) -> list[tuple[str, dict[str, str], str]]:
        """``[(name, labels, type)]`` of every known series (of ``name``)."""
        with self._lock:
            return self._head.listing(name)


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
