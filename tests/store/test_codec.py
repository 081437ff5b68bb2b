"""Chunk encodings: a decoded chunk says by its type which kind it is."""

import numpy as np
import pytest

from autobot_monitor.store import codec


def test_raw_chunk_round_trips_bit_for_bit_as_a_raw_chunk():
    ts = np.array([1000, 2000, 3000, 5000], np.int64)
    vs = np.array([1.5, np.nan, np.inf, -np.inf])
    got = codec.decode(codec.encode_raw(ts, vs))
    assert isinstance(got, codec.RawChunk)
    assert got.ts.tolist() == ts.tolist()
    assert got.vals.view(np.uint64).tolist() == vs.view(np.uint64).tolist()


def test_rollup_chunk_decodes_to_buckets_and_kinds_are_checked():
    ts = np.arange(0, 600_000, 10_000, dtype=np.int64)
    b = codec.rollup(codec.raw_buckets(ts, np.arange(60.0), counter=False), 60_000)
    blob = codec.encode_rollup(b)
    got = codec.decode_rollup(blob)
    assert isinstance(got, codec.Buckets) and got.t.tolist() == b.t.tolist()
    assert got.sum.tolist() == b.sum.tolist()
    with pytest.raises(ValueError, match="rollup chunk where a raw chunk belongs"):
        codec.decode_raw(blob)
    with pytest.raises(ValueError, match="raw chunk where a rollup chunk belongs"):
        codec.decode_rollup(codec.encode_raw(ts, np.arange(60.0)))
    with pytest.raises(ValueError):
        codec.decode(b"\x07garbage")
