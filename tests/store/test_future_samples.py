"""TieredStore.drop_after: samples stamped ahead of the clock leave the head, the WAL and every
tier's chunks (cut ones re-encoded), so the series accept writes again, also after a reopen."""


from storesupport import crash_copy, write_windows

from autobot_monitor.store import Series
from autobot_monitor.store.engine import TieredStore

T0 = 1_700_000_000.0
L = {"host": "a"}


def _write(store, start: float, n: int, step: float = 30.0) -> None:
    pts = [(start + i * step, float(i)) for i in range(n)]
    write_windows(store, [Series("g", L, pts, "gauge"), Series("c_total", L, pts, "counter")])


def _times(store, name: str, tier_step: float | None = None) -> list[float]:
    if tier_step is None:
        return [t for s in store.raw_samples(name, {}, 0, T0 + 10 * 86400) for t, _ in s.points]
    res = store.query(name, {}, T0 - 7200, T0 + 86400 * 2, tier_step)
    return [t for s in res.series for t, _ in s.points]


def test_drop_after_cuts_head_chunks_and_rollups_and_survives_reopen(tmp_path):
    path = str(tmp_path / "s.db")
    store = TieredStore(path)
    _write(store, T0, 100)  # 50 min: flushed windows in chunks, the last in the head
    _write(store, T0 + 86400, 3)  # a clock a day ahead
    cut = T0 + 1500 + 15  # inside the third window: its chunks are cut, not dropped
    assert store.drop_after(cut) == 2 * (100 - 51 + 3)
    assert _times(store, "g") == [T0 + 30 * i for i in range(51)]
    assert cut - 180 < max(_times(store, "g", 60)) <= cut  # 1m buckets up to the cut stay
    assert store.write([Series("g", L, [(cut + 1, 7.0)], "gauge")]) == 1  # accepted again
    store.close()
    store = TieredStore(path)
    try:
        assert _times(store, "g")[-2:] == [T0 + 1500, cut + 1]
        assert store.drop_after(T0 + 86400) == 0
        assert store.write([Series("c_total", L, [(cut + 2, 1e3)], "counter")]) == 1
    finally:
        store.close()


def test_future_chunks_found_at_open_are_deleted(tmp_path):
    path = str(tmp_path / "s.db")
    store = TieredStore(path)
    _write(store, T0, 5)
    _write(store, T0 + 86400, 5)
    store.close()  # the day-ahead samples are now in chunks
    store = TieredStore(path)
    try:
        assert store.write([Series("g", L, [(T0 + 300, 1.0)], "gauge")]) == 0  # blocked
        assert store.drop_after(T0 + 200) == 10
        assert store.write([Series("g", L, [(T0 + 300, 1.0)], "gauge")]) == 1
        assert _times(store, "g") == [T0 + 30 * i for i in range(5)] + [T0 + 300]
        fam = next(f for f in store.families() if f.name == "autobot_store_samples_future_dropped_total")
        assert fam.samples[0].value == 10
    finally:
        store.close()


def test_a_series_only_ever_written_ahead_is_forgotten_and_replays(tmp_path):
    path = str(tmp_path / "s.db")
    store = TieredStore(path)
    _write(store, T0, 2)
    store.write([Series("new", L, [(T0 + 86400, 1.0)], "gauge")])
    assert store.drop_after(T0 + 100) == 1
    assert store.write([Series("new", L, [(T0 + 120, 2.0)], "gauge")]) == 1
    crashed = crash_copy(tmp_path / "s.db")
    store.close()
    store = TieredStore(str(crashed))
    try:
        assert _times(store, "new") == [T0 + 120]
    finally:
        store.close()
