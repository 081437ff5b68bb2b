"""Embedded tiered store: writes, range queries with step, matchers, the out-of-order rule,
NaN/±Inf, survival across reopen and kill -9 (WAL replay)."""

import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from autobot_monitor.errors import QueryError, StoreError
from autobot_monitor.model import make_labels
from autobot_monitor.store import MAX_POINTS, Series, TieredStore, default_tiers, parse_matcher

T0 = 1_700_000_400.0  # on a 10-minute (and minute) boundary


def _w(store, name, labels, value, ts, type_="gauge"):
    return store.write([Series(name, dict(make_labels(labels)), [(ts, value)], type_)])


def test_range_query_averages_gauges_per_step(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    for i in range(6):
        _w(s, "g", {"host": "a"}, float(i), T0 + i * 10)
    res = s.query("g", {"host": "a"}, T0, T0 + 59, 30)
    assert res.tier == "raw"
    assert res.series[0].points == [(T0, 1.0), (T0 + 30, 4.0)]  # avg(0,1,2), avg(3,4,5)
    s.flush()  # same answer from chunks
    assert s.query_range("g", {"host": "a"}, T0, T0 + 59, 30)[0].points == [(T0, 1.0), (T0 + 30, 4.0)]


def test_counters_take_the_last_value_and_rate_handles_resets(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    for i, v in enumerate([10, 20, 30, 40, 5, 15]):  # reset after 40
        _w(s, "c_total", {}, v, T0 + i * 10, "counter")
    assert s.query_range("c_total", {}, T0, T0 + 39, 20)[0].points == [(T0, 20.0), (T0 + 20, 40.0)]
    rate = s.query("c_total", {}, T0, T0 + 59, 60, fn="rate").series[0].points
    assert rate == [(T0, pytest.approx((10 + 10 + 10 + 5 + 10) / 50))]
    with pytest.raises(QueryError, match="counters"):
        _w(s, "g", {}, 1.0, T0)
        s.query("g", {}, T0, T0 + 10, 1, fn="rate")


def test_matcher_operators(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    for h, d in (("web-1", "x"), ("web-2", "y"), ("db-1", "x")):
        _w(s, "g", {"host": h, "dev": d}, 1.0, T0)
    _w(s, "g", {"host": "lone"}, 1.0, T0)

    def hosts(*m):
        return sorted(r.labels["host"] for r in s.query_range("g", [parse_matcher(x) for x in m], T0, T0, 1))

    assert hosts("dev=x") == ["db-1", "web-1"]
    assert hosts("dev!=x") == ["lone", "web-2"]
    assert hosts("host=~web-.*") == ["web-1", "web-2"]
    assert hosts("host!~web-.*", 'dev="x"') == ["db-1"]
    assert hosts("host=~web") == []  # anchored, like Prometheus
    for bad in ("host~x", "1x=y", "host=~(", "=x"):
        with pytest.raises(QueryError):
            parse_matcher(bad)


def test_nan_and_infinities_round_trip(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    vals = [math.nan, math.inf, -math.inf, 1.5]
    for i, v in enumerate(vals):
        _w(s, "g", {}, v, T0 + i)
    s.close()
    s = TieredStore(str(tmp_path / "m.db"))
    got = [v for _, v in s.raw_samples("g", {}, T0, T0 + 10)[0].points]
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf, 1.5]
    pts = s.query_range("g", {}, T0, T0 + 3, 1)[0].points
    assert pts == [(T0, None), (T0 + 1, math.inf), (T0 + 2, -math.inf), (T0 + 3, 1.5)]
    assert s.mean("g", {}, T0 + 3, T0 + 3) == 1.5


def test_out_of_order_and_duplicates_are_dropped_and_counted(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    assert _w(s, "g", {}, 1.0, T0 + 10) == 1
    assert _w(s, "g", {}, 2.0, T0 + 10) == 0  # duplicate: first value wins
    assert _w(s, "g", {}, 3.0, T0 + 5) == 0  # out of order
    assert s.raw_samples("g", {}, T0, T0 + 20)[0].points == [(T0 + 10, 1.0)]
    rej = {x.label_dict["reason"]: x.value for f in s.families()
           if f.name == "autobot_store_samples_rejected_total" for x in f.samples}
    assert rej == {"duplicate": 1.0, "out_of_order": 1.0}


def test_bad_queries_are_refused(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    for args in ((T0 + 10, T0, 1), (T0, T0 + 10, 0), (T0, T0 + MAX_POINTS * 2, 1)):
        with pytest.raises(QueryError):
            s.query_range("g", {}, *args)
    with pytest.raises(QueryError):
        s.query("g", {}, T0, T0 + 1, 1, fn="median")


def test_history_survives_reopen_and_retention_drops_whole_chunks(tmp_path):
    p = str(tmp_path / "m.db")
    s = TieredStore(p, default_tiers(raw_days=1000 / 86400))
    _w(s, "g", {}, 1.0, T0)  # window 1
    _w(s, "g", {}, 2.0, T0 + 100)  # same window, same chunk
    _w(s, "g", {}, 3.0, T0 + 2000)  # a later window: window 1 flushed
    s.close()
    s2 = TieredStore(p, default_tiers(raw_days=1000 / 86400))
    assert len(s2.query_range("g", {}, T0, T0 + 2000, 1)[0].points) == 3
    assert s2.enforce_retention(T0 + 1050) == 0  # the chunk's last sample (T0+100) is young
    assert s2.enforce_retention(T0 + 1200) == 2  # the whole first chunk goes
    assert s2.raw_samples("g", {}, T0, T0 + 2000)[0].points == [(T0 + 2000, 3.0)]
    res = s2.query("g", {}, T0, T0 + 2000, 1)  # older than raw retention: the 1m tier answers
    assert res.tier == "1m" and res.series[0].points[:2] == [(T0, 1.0), (T0 + 60, 2.0)]
    assert s2.mean("g", {}, T0, T0 + 3000) == 2.0  # (1 + 2 + 3) / 3 from the 1m tier


def test_a_second_process_cannot_open_a_store_in_use(tmp_path):
    p = str(tmp_path / "m.db")
    TieredStore(p)
    code = f"from autobot_monitor.store import TieredStore; TieredStore({p!r})"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "in use by another process" in r.stderr


def test_acknowledged_writes_survive_kill_9_and_a_torn_tail_is_dropped(tmp_path):
    p = str(tmp_path / "m.db")
    code = textwrap.dedent(f"""
        import os, signal
        from autobot_monitor.store import Series, TieredStore
        s = TieredStore({p!r})
        for w in range(0, 1500, 600):  # one batch per head window; two flushed: chunks + WAL
            pts = [({T0} + i, float(i)) for i in range(w, min(w + 600, 1500))]
            s.write([Series("g", {{"host": "a"}}, pts, "gauge"), Series("c_total", {{}}, pts, "counter")])
        print("written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -signal.SIGKILL and "written" in r.stdout
    with open(p + ".wal", "ab") as f:  # the write in flight: half a record
        f.write(b"\x40\x00\x00\x00\x01\x02")
    s = TieredStore(p)
    pts = s.query_range("g", {"host": "a"}, T0, T0 + 1499, 1)[0].points
    assert len(pts) == 1500 and pts[-1] == (T0 + 1499, 1499.0)
    rep = [f for f in s.families() if f.name == "autobot_store_wal_replayed_samples_total"][0]
    assert rep.samples[0].value == 2 * 300  # T0+1200 .. T0+1499 were only in the WAL
    assert _w(s, "g", {"host": "a"}, 5.0, T0 + 1500) == 1


def test_closed_store_refuses(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    s.close()
    with pytest.raises(StoreError):
        _w(s, "g", {}, 1.0, T0)
    assert os.path.exists(str(tmp_path / "m.db"))
