"""Deleting what a wrong wall clock wrote ahead of time (:meth:`.engine.TieredStore.drop_after`).

The out-of-order rule drops every sample not after its series' newest one. A wall clock that
stepped forward (a day, for a few seconds) and came back leaves each series' newest sample in the
future, and every new sample would be refused until the clock catches up. :func:`drop_after`
removes every sample stamped after ``cut_ms``: from the head (and so the WAL), from raw chunks
(cut, re-encoded), from rollup chunks (buckets that end after the cut are dropped whole; the raw
tier keeps the samples before the cut of such a bucket), and resets each series' newest
timestamp and value to what is left, so writes are accepted again at once.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib

import numpy as np

from ..errors import StoreError
from . import codec

log = logging.getLogger(__name__)


def drop_future(store, t: float, when: str) -> int:
    """Hub helper: ``store.drop_after(t)`` where the backend has it (the embedded store), the
    count logged as a warning with ``when``; a StoreError is logged, not raised. Returns the
    samples deleted."""
    drop = getattr(store, "drop_after", None)
    if drop is None:
        return 0
    try:
        n = drop(t)
    except StoreError as e:
        log.error("cannot delete samples stamped in the future: %s", e)
        return 0
    if n:
        log.warning("deleted %d stored samples stamped after the wall clock's now (%s)", n, when)
    return n


def drop_after(store, cut_ms: int) -> int:
    """Delete the samples of ``store`` stamped after ``cut_ms`` (Unix ms). Runs under the store's
    lock; returns how many raw samples were deleted (head and raw chunks). Raises StoreError when
    SQLite fails (nothing is changed then)."""
    with store._lock:
        if store._closed:
            raise StoreError("store is closed")
        if store._newest_ms is None or store._newest_ms <= cut_ms:
            return 0
        plan = [(s, int(np.searchsorted(np.array(s.ts, np.int64), cut_ms, side="right")))
                for s in store._by_key.values() if s.last_ts > cut_ms]
        w = store._w
        try:
            w.execute("BEGIN")
            n_chunks, sizes = _cut_chunks(store, cut_ms)
            newest = _newest_samples(w, [s for s, k in plan if k == 0], cut_ms)
            w.executemany("UPDATE series SET last_ts=?, last_v=? WHERE id=?",
                          [(t, None if t is None else np.float64(v).tobytes(), s.id)
                           for s, (t, v) in newest.items() if s.persisted])
            w.execute("COMMIT")
        except sqlite3.Error as e:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise StoreError(f"cannot delete future samples from {store.path}: {e}") from e
        for i, delta in enumerate(sizes):
            store._tier_bytes[i] += delta
        n_head = _cut_head(store, plan, newest)
        store._gen += 1
        try:
            store._wal.rewrite(store._head_record())
        except StoreError as e:  # replay would only bring back samples the next drop removes
            log.error("%s", e)
        n = n_head + n_chunks
        store.stats.future_dropped += n
        return n


def _cut_chunks(store, cut_ms: int) -> tuple[int, list[int]]:
    """Delete or cut every chunk holding data after ``cut_ms``; returns (raw samples deleted,
    byte change per tier). Corrupt chunks across the cut are deleted (they are unreadable)."""
    w, n_raw, sizes = store._w, 0, [0] * len(store.tiers)
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


def _cut_blob(data: bytes, i: int, tier, cut_ms: int):
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


def _newest_samples(w: sqlite3.Connection, emptied: list, cut_ms: int) -> dict:
    """``{series: (ms, value)}`` of the newest sample left for each series of ``emptied`` (no
    head left): the one flushed last when it is not after the cut, else the newest of its raw
    chunks (one query for all); ``(None, None)`` when nothing readable is left."""
    out = {s: (s.prev_t, s.prev_v) for s in emptied if s.prev_t is not None and s.prev_t <= cut_ms}
    todo = {s.id: s for s in emptied if s not in out}
    if not todo:
        return out
    for sid, data in w.execute(
            "SELECT c.series_id, c.data FROM chunks c JOIN (SELECT series_id, MAX(end_ms) AS m "
            "FROM chunks WHERE tier=0 GROUP BY series_id) x ON c.series_id=x.series_id "
            "AND c.tier=0 AND c.end_ms=x.m"):
        ser = todo.pop(sid, None)
        if ser is None:
            continue
        try:
            ts, vs = codec.decode_raw(data)
        except ValueError:
            todo[sid] = ser
            continue
        out[ser] = (int(ts[-1]), float(vs[-1]))
    out.update({s: (None, None) for s in todo.values()})
    return out


def _cut_head(store, plan: list, newest: dict) -> int:
    """Cut each series' head at its planned length ``k``; a series left with no head takes its
    newest timestamp and value from ``newest`` (its chunks). Returns samples deleted."""
    n = 0
    for ser, k in plan:
        n += len(ser.ts) - k
        del ser.ts[k:]
        del ser.vals[k:]
        if ser.ts:
            ser.last_ts = ser.ts[-1]
        elif not ser.persisted:  # known only to the WAL, which forgets it: forget it too
            del store._by_key[(ser.name, ser.labels)]
            store._by_name[ser.name].remove(ser)
            if not store._by_name[ser.name]:
                del store._by_name[ser.name]
        else:
            ser.prev_t, ser.prev_v = newest[ser]
            ser.last_ts = -(1 << 62) if ser.prev_t is None else ser.prev_t
    store._head_n -= n
    store._dirty = {s for s in store._dirty if s.ts}
    store._window_end = None
    if store._dirty:
        first = min(s.ts[0] for s in store._dirty)
        store._window_end = (first // store.window_ms + 1) * store.window_ms
    lasts = [s.last_ts for s in store._by_key.values() if s.last_ts > -(1 << 62)]
    store._newest_ms = max(lasts) if lasts else None
    return n
