"""Chunk encodings and the bucket arithmetic every query uses.

A **raw chunk** holds one series' samples in time order: timestamps (int64 milliseconds) as
delta-of-delta, zigzagged and narrowed to the smallest of 1/2/4/8 bytes that fits the whole
column; values (float64) as the XOR of each value's bits with the previous value's bits
(Gorilla's idea), byte-shuffled into 8 planes so the runs of zero bytes line up. The body is then
zstd-compressed. NaN, +Inf and -Inf round-trip bit for bit.

A **rollup chunk** holds per-bucket aggregates (:class:`Buckets`): bucket start (ms) and
``count`` (non-NaN samples), ``sum``, ``min``, ``max``, ``last`` (last non-NaN value), ``inc``
(counter increase inside the bucket, resets counted as a restart from 0) and ``dt`` (seconds the
increase covers). Raw samples become one-sample buckets, so a single aggregation path
(:func:`aggregate`) serves raw and rollup tiers.

**Gaps** (:data:`STALE_FACTOR`): a series' *spacing* is the upper median of the distances
between its consecutive samples (the interval it was recorded at). Two samples further apart than
``STALE_FACTOR x spacing`` have a hole between them (a missed scrape, a target down, the hub not
running): a counter's increase across a hole is not counted (no rate over a hole, no spike when
the series resumes), and :func:`steps` answers ``None`` for the steps inside it.

Errors: :func:`decode` raises :class:`ValueError` for a blob it cannot parse (the engine counts it
as a corrupt chunk).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import zstandard

VERSION = 1
KIND_RAW, KIND_ROLLUP = 0, 1
_HDR = struct.Struct("<BBIq")  # version, kind, n, first timestamp (ms)
_FIELDS = ("count", "sum", "min", "max", "last", "inc", "dt")
STALE_FACTOR = 1.5  # a gap longer than 1.5 x the series' spacing is a hole
_local = threading.local()


def _zc() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    z = getattr(_local, "z", None)
    if z is None:
        z = _local.z = (zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor())
    return z


def _shuffle(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a.view(np.uint8).reshape(-1, 8).T).tobytes()


def _unshuffle(b: bytes, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.frombuffer(b, np.uint8).reshape(8, n).T).view(np.uint64).ravel()


def _xor(v: np.ndarray) -> bytes:
    bits = v.astype(np.float64).view(np.uint64)
    x = bits.copy()
    x[1:] ^= bits[:-1]
    return _shuffle(x)


def _unxor(b: bytes, n: int) -> np.ndarray:
    return np.bitwise_xor.accumulate(_unshuffle(b, n)).view(np.float64)


def _enc_ts(ts: np.ndarray) -> bytes:
    d = np.diff(ts)
    dod = np.diff(d, prepend=0).astype(np.int64)
    zz = ((dod << 1) ^ (dod >> 63)).view(np.uint64)
    top = int(zz.max()) if len(zz) else 0
    for width, dt in ((1, np.uint8), (2, np.uint16), (4, np.uint32), (8, np.uint64)):
        if top < 1 << (8 * width) or width == 8:
            return bytes([width]) + zz.astype(dt).tobytes()
    raise AssertionError("unreachable")


def _dec_ts(b: bytes, n: int, t0: int) -> tuple[np.ndarray, int]:
    width = b[0]
    dt = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}.get(width)
    if dt is None:
        raise ValueError(f"bad timestamp width {width}")
    m = n - 1
    zz = np.frombuffer(b, dt, m, 1).astype(np.uint64)
    dod = (zz >> np.uint64(1)).view(np.int64) ^ -(zz & np.uint64(1)).view(np.int64)
    ts = np.empty(n, np.int64)
    ts[0] = t0
    if m:
        ts[1:] = t0 + np.cumsum(np.cumsum(dod))
    return ts, 1 + m * width


class RawChunk(NamedTuple):
    """A decoded raw chunk: ``ts`` (int64 ms, strictly increasing) and ``vals`` (float64)."""

    ts: np.ndarray
    vals: np.ndarray


def encode_raw(ts: np.ndarray, vals: np.ndarray) -> bytes:
    """Samples (int64 ms, float64) of one series in strictly increasing time -> chunk blob."""
    n = len(ts)
    body = _enc_ts(ts) + _xor(vals)
    return _HDR.pack(VERSION, KIND_RAW, n, int(ts[0])) + _zc()[0].compress(body)


@dataclass(slots=True)
class Buckets:
    """Per-bucket aggregates, columns of equal length; ``t`` is the bucket start in ms."""

    t: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    last: np.ndarray
    inc: np.ndarray
    dt: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def select(self, mask_or_slice: np.ndarray | slice) -> Buckets:
        return Buckets(*(getattr(self, f)[mask_or_slice] for f in ("t", *_FIELDS)))

    @staticmethod
    def concat(parts: list[Buckets]) -> Buckets:
        if not parts:
            e = np.empty(0)
            return Buckets(np.empty(0, np.int64), e, e, e, e, e, e, e)
        b = Buckets(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("t", *_FIELDS)))
        order = np.argsort(b.t, kind="stable")
        return b.select(order)


def encode_rollup(b: Buckets) -> bytes:
    n = len(b)
    body = _enc_ts(b.t) + b"".join(_xor(getattr(b, f)) for f in _FIELDS)
    return _HDR.pack(VERSION, KIND_ROLLUP, n, int(b.t[0])) + _zc()[0].compress(body)


Chunk = RawChunk | Buckets  # what :func:`decode` returns: the type tells the kind


def decode(blob: bytes) -> Chunk:
    """Blob -> :class:`RawChunk` (a raw chunk) or :class:`Buckets` (a rollup chunk).
    Raises ValueError for a blob it cannot parse."""
    try:
        ver, kind, n, t0 = _HDR.unpack_from(blob)
        if ver != VERSION or n <= 0:
            raise ValueError(f"bad chunk header (version {ver}, n {n})")
        body = _zc()[1].decompress(blob[_HDR.size:])
        ts, off = _dec_ts(body, n, t0)
        if kind == KIND_RAW:
            if len(body) != off + 8 * n:
                raise ValueError("raw chunk has the wrong length")
            return RawChunk(ts, _unxor(body[off:], n))
        if kind == KIND_ROLLUP:
            if len(body) != off + 8 * n * len(_FIELDS):
                raise ValueError("rollup chunk has the wrong length")
            cols = [_unxor(body[off + i * 8 * n: off + (i + 1) * 8 * n], n) for i in range(len(_FIELDS))]
            return Buckets(ts, *cols)
        raise ValueError(f"unknown chunk kind {kind}")
    except (struct.error, zstandard.ZstdError) as e:
        raise ValueError(f"undecodable chunk: {e}") from e


def decode_raw(blob: bytes) -> RawChunk:
    """A raw tier's blob -> :class:`RawChunk`; ValueError when it is not one (see :func:`decode`)."""
    c = decode(blob)
    if not isinstance(c, RawChunk):
        raise ValueError("rollup chunk where a raw chunk belongs")
    return c


def decode_rollup(blob: bytes) -> Buckets:
    """A rollup tier's blob -> :class:`Buckets`; ValueError when it is not one."""
    c = decode(blob)
    if not isinstance(c, Buckets):
        raise ValueError("raw chunk where a rollup chunk belongs")
    return c


def raw_buckets(ts: np.ndarray, vals: np.ndarray, counter: bool,
                prev_t: int | None = None, prev_v: float | None = None) -> Buckets:
    """Samples -> one bucket each. For counters, ``inc``/``dt`` are the reset-aware increase and
    seconds since the previous sample (``prev_t``/``prev_v`` before the first); a NaN on either
    side, or a hole between the two samples (see the module doc), gives 0/0 for that step."""
    n = len(ts)
    ok = ~np.isnan(vals)
    limit = None
    if counter and n:
        sp = spacing_ms(ts if prev_t is None else np.r_[prev_t, ts])
        limit = None if sp is None else STALE_FACTOR * sp
    count = ok.astype(np.float64)
    sums = np.where(ok, vals, 0.0)
    inc = np.zeros(n)
    dt = np.zeros(n)
    if counter and n:
        pt = np.empty(n, np.int64)
        pv = np.empty(n)
        pt[1:], pv[1:] = ts[:-1], vals[:-1]
        pt[0] = prev_t if prev_t is not None else ts[0]
        pv[0] = prev_v if prev_v is not None and prev_t is not None else np.nan
        good = ok & ~np.isnan(pv)
        if limit is not None:
            good &= (ts - pt) <= limit  # no increase across a hole
        with np.errstate(invalid="ignore"):
            d = np.where(vals >= pv, vals - pv, vals)
        inc = np.where(good, d, 0.0)
        dt = np.where(good, (ts - pt) / 1000.0, 0.0)
    return Buckets(ts.astype(np.int64), count, sums, vals.copy(), vals.copy(), vals.copy(), inc, dt)


def _groups(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted group keys -> (unique keys, start offset of each group)."""
    if not len(idx):
        return idx, idx
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    return idx[starts], starts


def _last_valid(b: Buckets, starts: np.ndarray) -> np.ndarray:
    pos = np.where(b.count > 0, np.arange(len(b)), -1)
    lastpos = np.maximum.reduceat(pos, starts)
    return np.where(lastpos >= starts, b.last[np.maximum(lastpos, 0)], np.nan)


def rollup(b: Buckets, res_ms: int) -> Buckets:
    """Combine buckets into buckets of ``res_ms`` aligned to the Unix epoch."""
    if not len(b):
        return b
    keys, starts = _groups(b.t // res_ms)
    with np.errstate(invalid="ignore"):
        return Buckets(keys * res_ms, np.add.reduceat(b.count, starts), np.add.reduceat(b.sum, starts),
                       np.fmin.reduceat(b.min, starts), np.fmax.reduceat(b.max, starts),
                       _last_valid(b, starts), np.add.reduceat(b.inc, starts),
                       np.add.reduceat(b.dt, starts))


def aggregate_keys(b: Buckets, start_ms: int, step_ms: int, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """(indexes of the steps with buckets, their ``fn`` values; NaN = no value)."""
    keys, starts = _groups((b.t - start_ms) // step_ms)
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt = np.add.reduceat(b.count, starts)
        if fn == "avg":
            v = np.add.reduceat(b.sum, starts) / cnt
        elif fn == "sum":
            v = np.where(cnt > 0, np.add.reduceat(b.sum, starts), np.nan)
        elif fn == "count":
            v = cnt
        elif fn == "min":
            v = np.fmin.reduceat(b.min, starts)
        elif fn == "max":
            v = np.fmax.reduceat(b.max, starts)
        elif fn == "last":
            v = _last_valid(b, starts)
        elif fn == "rate":
            dts = np.add.reduceat(b.dt, starts)
            v = np.where(dts > 0, np.add.reduceat(b.inc, starts) / dts, np.nan)
        else:
            raise ValueError(f"unknown function {fn!r}")
    if fn not in ("count", "rate"):
        v = np.where(cnt > 0, v, np.nan)
    return keys, v


def aggregate(b: Buckets, start_ms: int, step_ms: int, fn: str) -> list[tuple[float, float | None]]:
    """Buckets (sorted by ``t``, all within the range) -> one point per step with data:
    ``[(step_start_seconds, value_or_None)]``. ``fn``: avg, min, max, last, count, sum or rate
    (per second, from ``inc``/``dt``)."""
    if not len(b):
        return []
    keys, v = aggregate_keys(b, start_ms, step_ms, fn)
    t = (start_ms + keys * step_ms) / 1000.0
    return [(float(tt), None if vv != vv else float(vv)) for tt, vv in zip(t.tolist(), v.tolist(), strict=True)]


def spacing_ms(t: np.ndarray, res_ms: int = 0) -> float | None:
    """Upper median of the distances between consecutive times ``t`` (ms, sorted), at least
    ``res_ms``; ``res_ms`` (or None when 0) for fewer than two times."""
    if len(t) < 2:
        return float(res_ms) or None
    d = np.sort(np.diff(t))
    return float(max(d[len(d) // 2], res_ms))


def steps(b: Buckets, start_ms: int, end_ms: int, step_ms: int, fn: str, res_ms: int = 0,
          newest_ms: int | None = None) -> list[tuple[float, float | None]]:
    """Buckets of one series (sorted by ``t``; those before ``start_ms`` are a lookback that only
    tells whether the first steps are inside a hole) -> ``[(step_start_seconds, value_or_None)]``
    on the grid ``start_ms + k x step_ms <= end_ms``:

    * a step with buckets: its ``fn`` value (None when it has no valid sample or, for rate, no
      increase it can measure);
    * a step without any, inside a hole: None. It is inside a hole when its end (capped at
      ``end_ms`` and ``newest_ms``, the newest sample the store holds) is at least
      ``STALE_FACTOR x spacing`` after the last valid sample before it, or no sample precedes it;
    * a step without any but within that distance of the previous sample (a step finer than the
      interval, or timing jitter): left out.

    ``res_ms``: the tier's bucket size (0 for raw samples). [] when no bucket is in range."""
    inr = b.select(b.t >= start_ms)
    if not len(inr):
        return []
    valid = b.t[b.count > 0]
    sp = spacing_ms(valid, res_ms)
    limit = STALE_FACTOR * (sp if sp is not None else max(step_ms, res_ms))
    keys, v = aggregate_keys(inr, start_ms, step_ms, fn)
    n = (end_ms - start_ms) // step_ms + 1
    s = start_ms + np.arange(n, dtype=np.int64) * step_ms
    e = np.minimum(s + step_ms, min(end_ms, newest_ms if newest_ms is not None else end_ms))
    idx = np.searchsorted(valid, s, side="left") - 1
    prev = valid[np.maximum(idx, 0)] if len(valid) else np.zeros(n, np.int64)
    hole = (idx < 0) | (e - prev >= limit)
    val = np.full(n, np.nan)
    have = np.zeros(n, bool)
    val[keys], have[keys] = v, True
    keep = have | hole
    t = (s[keep] / 1000.0).tolist()
    return [(tt, None if vv != vv else vv) for tt, vv in zip(t, val[keep].tolist(), strict=True)]
