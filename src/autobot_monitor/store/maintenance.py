"""Retention, size caps and chunk merging of the chunk store (:class:`~.chunks.ChunkStore`;
whole chunks only).

:func:`enforce` runs under the store's write lock (the engine's): first every tier drops the chunks whose last
sample is older than its retention, then closed windows holding several chunks of one series are
merged into one (raw: 2 h, rollups: 1 day; at most ``MERGE_BATCH`` groups per
call, the rest next time), then a tier over its byte cap drops its oldest chunks until it fits.
Corrupt chunks are left out of merges (and stay where they are).
"""

from __future__ import annotations

import logging
import sqlite3
import zlib

import numpy as np

from ..errors import StoreError
from . import codec
from .chunks import ChunkStore, Tier

log = logging.getLogger(__name__)
MERGE_BATCH = 2000


def enforce(store: ChunkStore, now: float) -> int:
    """Apply retention, merging and caps at ``now`` (Unix seconds). Returns the number of raw
    samples dropped. Raises StoreError when SQLite fails."""
    now_ms = int(now * 1000)
    dropped_raw = 0
    w = store.db
    try:
        for i, tier in enumerate(store.tiers):
            cutoff = now_ms - int(tier.retention_s * 1000)
            n, rows, size = w.execute("SELECT COALESCE(SUM(n), 0), COUNT(*), COALESCE(SUM(size), 0) "
                                      "FROM chunks WHERE tier=? AND end_ms<?", (i, cutoff)).fetchone()
            if rows:
                w.execute("DELETE FROM chunks WHERE tier=? AND end_ms<?", (i, cutoff))
                store.tier_bytes[i] -= size
                store.stats.dropped[(tier.name, "retention")] += rows
                if i == 0:
                    dropped_raw += n
        for i, tier in enumerate(store.tiers):
            _merge(store, i, tier, now_ms)
        for i, tier in enumerate(store.tiers):
            if tier.max_bytes is not None and store.tier_bytes[i] > tier.max_bytes:
                dropped_raw += _cap(store, i, tier)
    except sqlite3.Error as e:
        if w.in_transaction:
            w.execute("ROLLBACK")
        raise StoreError(f"retention on {store.path} failed: {e}") from e
    store.generation += 1
    return dropped_raw


def _merge(store: ChunkStore, i: int, tier: Tier, now_ms: int) -> None:
    w, span = store.db, tier.merge_ms
    groups = w.execute("SELECT series_id, start_ms / ? AS win FROM chunks WHERE tier=? AND end_ms<? "
                       "GROUP BY series_id, win HAVING COUNT(*) > 1 LIMIT ?",
                       (span, i, (now_ms // span) * span, MERGE_BATCH)).fetchall()
    if not groups:
        return
    w.execute("BEGIN")
    for sid, win in groups:
        rows = w.execute("SELECT id, crc, size, data FROM chunks WHERE series_id=? AND tier=? AND "
                         "start_ms>=? AND start_ms<? ORDER BY start_ms, id",
                         (sid, i, win * span, (win + 1) * span)).fetchall()
        ids, parts, old = [], [], 0
        for cid, crc, size, data in rows:
            try:
                if zlib.crc32(data) != crc:
                    raise ValueError("checksum mismatch")
                parts.append(codec.decode_raw(data) if i == 0 else codec.decode_rollup(data))
            except ValueError as e:
                store.stats.corrupt_chunk(cid, tier.name, str(e), store.path)
                continue
            ids.append(cid)
            old += size
        if len(parts) < 2:
            continue
        blob, start, end, n = _merged(parts, tier)
        w.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(ids))})", ids)
        store.insert([(sid, i, start, end, n, len(blob), zlib.crc32(blob), blob)])
        store.tier_bytes[i] += len(blob) - old
    w.execute("COMMIT")


def _merged(parts: list[codec.Chunk], tier: Tier) -> tuple[bytes, int, int, int]:
    """Chunks of one series and tier -> (blob, start_ms, end_ms, n) of the one replacing them;
    a raw sample present twice is kept once."""
    raws = [p for p in parts if isinstance(p, codec.RawChunk)]
    if raws:
        ts = np.concatenate([p.ts for p in raws])
        vs = np.concatenate([p.vals for p in raws])
        order = np.argsort(ts, kind="stable")
        ts, vs = ts[order], vs[order]
        keep = np.r_[True, ts[1:] != ts[:-1]]
        ts, vs = ts[keep], vs[keep]
        return codec.encode_raw(ts, vs), int(ts[0]), int(ts[-1]), len(ts)
    b = codec.rollup(codec.Buckets.concat([p for p in parts if isinstance(p, codec.Buckets)]), tier.res_ms)
    return codec.encode_rollup(b), int(b.t[0]), int(b.t[-1]) + tier.res_ms - 1, len(b)


def _cap(store: ChunkStore, i: int, tier: Tier) -> int:
    w = store.db
    assert tier.max_bytes is not None
    excess = store.tier_bytes[i] - tier.max_bytes
    ids, freed, n_raw = [], 0, 0
    for cid, size, n in w.execute("SELECT id, size, n FROM chunks WHERE tier=? ORDER BY end_ms, id",
                                  (i,)):
        if freed >= excess:
            break
        ids.append(cid)
        freed += size
        n_raw += n
    for k in range(0, len(ids), 500):
        part = ids[k:k + 500]
        w.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)
    store.tier_bytes[i] -= freed
    store.stats.dropped[(tier.name, "size")] += len(ids)
    if ids:
        log.warning("store tier %s over its cap of %d bytes: dropped its %d oldest chunks (%d bytes)",
                    tier.name, tier.max_bytes, len(ids), freed)
    return n_raw if i == 0 else 0
