"""Deleting what a wrong wall clock wrote ahead of time (:meth:`.engine.TieredStore.drop_after`:
the head's part is :meth:`.head.Head.cut_after`, the chunks' part :func:`cut_chunks`).

The out-of-order rule drops every sample not after its series' newest one. A wall clock that
stepped forward (a day, for a few seconds) and came back leaves each series' newest sample in the
future, and every new sample would be refused until the clock catches up. ``drop_after``
removes every sample stamped after ``cut_ms``: from the head (and so the WAL), from raw chunks
(cut, re-encoded), from rollup chunks (buckets that end after the cut are dropped whole; the raw
tier keeps the samples before the cut of such a bucket), and resets each series' newest
timestamp and value to what is left, so writes are accepted again at once.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from typing import Any, NamedTuple

import numpy as np

from ..errors import StoreError
from . import codec
from .chunks import ChunkStore, Tier

log = logging.getLogger(__name__)

Newest = dict[int, tuple[int | None, float | None]]  # series id -> newest (ms, value) left


def drop_future(store: Any, t: float, when: str) -> int:
    """Hub helper: ``store.drop_after(t)`` where the backend has it (the embedded store), the
    count logged as a warning with ``when``; a StoreError is logged, not raised. Returns the
    samples deleted."""
    drop = getattr(store, "drop_after", None)
    if drop is None:
        return 0
    try:
        n = int(drop(t))
    except StoreError as e:
        log.error("cannot delete samples stamped in the future: %s", e)
        return 0
    if n:
        log.warning("deleted %d stored samples stamped after the wall clock's now (%s)", n, when)
    return n


class Emptied(NamedTuple):
    """A series whose head a cut empties: its newest flushed sample ``prev_t``/``prev_v``, and
    whether the chunk store has its row (``persisted``)."""

    id: int
    prev_t: int | None
    prev_v: float | None
    persisted: bool


def cut_chunks(store: ChunkStore, cut_ms: int, emptied: list[Emptied]) -> tuple[int, Newest]:
    """Delete or cut every chunk of ``store`` holding data after ``cut_ms`` (Unix ms) and store
    the newest sample left of each ``emptied`` series, in one transaction. Returns (raw samples
    deleted, ``{series id: (ms, value)}`` of those newest samples, ``(None, None)`` when none is
    left). Raises StoreError when SQLite fails (nothing is changed then)."""
    w = store.db
    try:
        w.execute("BEGIN")
        n_chunks, sizes = _cut_chunks(store, cut_ms)
        newest = _newest_samples(w, emptied, cut_ms)
        persisted = {e.id for e in emptied if e.persisted}
        w.executemany("UPDATE series SET last_ts=?, last_v=? WHERE id=?",
                      [(t, None if t is None else np.float64(v).tobytes(), sid)
                       for sid, (t, v) in newest.items() if sid in persisted])
        w.execute("COMMIT")
    except sqlite3.Error as e:
        if w.in_transaction:
            w.execute("ROLLBACK")
        raise StoreError(f"cannot delete future samples from {store.path}: {e}") from e
    for i, delta in enumerate(sizes):
        store.tier_bytes[i] += delta
    store.generation += 1
    return n_chunks, newest


def _cut_chunks(store: ChunkStore, cut_ms: int) -> tuple[int, list[int]]:
    """Delete or cut every chunk holding data after ``cut_ms``; returns (raw samples deleted,
    byte change per tier). Corrupt chunks across the cut are deleted (they are unreadable)."""
    w, n_raw, sizes = store.db, 0, [0] * len(store.tiers)
    for i, tier in enumerate(store.tiers):
        rows = w.execute("SELECT id, start_ms, n, size, crc, data FROM chunks WHERE tier=? "
                         "AND end_ms>?", (i, cut_ms)).fetchall()
        dels, upds = [], []
        for cid, start, n, size, crc, data in rows:
            blob = None
            if start <= cut_ms:
                try:
                    if zlib.crc32(data) != crc:
                        raise ValueError("checksum mismatch")
                    blob, start2, end2, n2 = _cut_blob(data, i, tier, cut_ms)
                except ValueError:
                    blob = None
            if blob is None:
                dels.append((cid,))
                sizes[i] -= size
                n_raw += n if i == 0 else 0
                continue
            upds.append((start2, end2, n2, len(blob), zlib.crc32(blob), blob, cid))
            sizes[i] += len(blob) - size
            n_raw += n - n2 if i == 0 else 0
        w.executemany("DELETE FROM chunks WHERE id=?", dels)
        w.executemany("UPDATE chunks SET start_ms=?, end_ms=?, n=?, size=?, crc=?, data=? "
                      "WHERE id=?", upds)
    return n_raw, sizes


def _cut_blob(data: bytes, i: int, tier: Tier, cut_ms: int) -> tuple[bytes | None, int, int, int]:
    """A chunk of tier ``i`` cut at ``cut_ms`` -> (blob, start_ms, end_ms, n), or (None, ...) when
    nothing is left. Raises ValueError for a chunk it cannot decode."""
    if i == 0:
        ts, vs = codec.decode_raw(data)
        k = int(np.searchsorted(ts, cut_ms, side="right"))
        if k == 0:
            return None, 0, 0, 0
        return codec.encode_raw(ts[:k], vs[:k]), int(ts[0]), int(ts[k - 1]), k
    part = codec.decode_rollup(data)
    b = part.select(part.t + tier.res_ms - 1 <= cut_ms)
    if not len(b):
        return None, 0, 0, 0
    return codec.encode_rollup(b), int(b.t[0]), int(b.t[-1]) + tier.res_ms - 1, len(b)


def _newest_samples(w: sqlite3.Connection, emptied: list[Emptied], cut_ms: int) -> Newest:
    """``{series id: (ms, value)}`` of the newest sample left for each series of ``emptied``:
    the one flushed last when it is not after the cut, else the newest of its raw chunks (one
    query for all); ``(None, None)`` when nothing readable is left."""
    out: Newest = {e.id: (e.prev_t, e.prev_v) for e in emptied
                   if e.prev_t is not None and e.prev_t <= cut_ms}
    todo = {e.id for e in emptied if e.id not in out}
    if not todo:
        return out
    for sid, data in w.execute(
            "SELECT c.series_id, c.data FROM chunks c JOIN (SELECT series_id, MAX(end_ms) AS m "
            "FROM chunks WHERE tier=0 GROUP BY series_id) x ON c.series_id=x.series_id "
            "AND c.tier=0 AND c.end_ms=x.m"):
        if sid not in todo:
            continue
        try:
            ts, vs = codec.decode_raw(data)
        except ValueError:
            continue
        todo.discard(sid)
        out[sid] = (int(ts[-1]), float(vs[-1]))
    out.update(dict.fromkeys(todo, (None, None)))
    return out
