"""Embedded SQLite store: writes, range queries with step, survival across reopen and kill -9."""

import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from autobot_monitor.errors import QueryError
from autobot_monitor.model import make_labels
from autobot_monitor.store import MAX_POINTS, SqliteStore, WriteSample

T0 = 1_700_000_000.0


def _w(store, name, labels, value, ts, type_="gauge"):
    store.write([WriteSample(name, make_labels(labels), value, type_, ts)])


def test_range_query_averages_gauges_per_step(tmp_path):
    s = SqliteStore(str(tmp_path / "m.db"))
    for i in range(6):
        _w(s, "g", {"host": "a"}, float(i), T0 + i * 10)
    res = s.query_range("g", {"host": "a"}, T0, T0 + 59, 30)
    assert len(res) == 1
    assert res[0].points == [(T0, 1.0), (T0 + 30, 4.0)]  # avg(0,1,2), avg(3,4,5)


def test_counters_take_the_last_value_of_each_bucket(tmp_path):
    s = SqliteStore(str(tmp_path / "m.db"))
    for i, v in enumerate([10, 20, 30, 40]):
        _w(s, "c_total", {}, v, T0 + i * 10, "counter")
    res = s.query_range("c_total", {}, T0, T0 + 39, 20)
    assert res[0].points == [(T0, 20.0), (T0 + 20, 40.0)]


def test_matchers_select_series_and_nan_is_stored_as_no_value(tmp_path):
    s = SqliteStore(str(tmp_path / "m.db"))
    _w(s, "g", {"host": "a", "dev": "x"}, 1.0, T0)
    _w(s, "g", {"host": "b", "dev": "x"}, 2.0, T0)
    _w(s, "g", {"host": "a", "dev": "y"}, math.nan, T0)
    assert [r.labels["host"] for r in s.query_range("g", {"dev": "x"}, T0, T0, 1)] == ["a", "b"]
    nan = s.query_range("g", {"dev": "y"}, T0, T0, 1)
    assert nan[0].points == [(T0, None)]
    assert s.metric_names() == ["g"]


def test_bad_queries_are_refused(tmp_path):
    s = SqliteStore(str(tmp_path / "m.db"))
    with pytest.raises(QueryError):
        s.query_range("g", {}, T0 + 10, T0, 1)
    with pytest.raises(QueryError):
        s.query_range("g", {}, T0, T0 + 10, 0)
    with pytest.raises(QueryError):
        s.query_range("g", {}, T0, T0 + MAX_POINTS * 2, 1)


def test_history_survives_reopen_and_retention_drops_old(tmp_path):
    p = str(tmp_path / "m.db")
    s = SqliteStore(p, retention_s=100)
    _w(s, "g", {}, 1.0, T0)
    _w(s, "g", {}, 2.0, T0 + 200)
    s.close()
    s2 = SqliteStore(p, retention_s=100)
    assert len(s2.query_range("g", {}, T0, T0 + 200, 1)[0].points) == 2
    assert s2.enforce_retention(T0 + 250) == 1
    assert s2.query_range("g", {}, T0, T0 + 200, 1)[0].points == [(T0 + 200, 2.0)]
    assert s2.mean("g", {}, T0, T0 + 300) == 2.0


def test_committed_writes_survive_kill_9(tmp_path):
    p = str(tmp_path / "m.db")
    code = textwrap.dedent(f"""
        import os, signal, sys
        from autobot_monitor.store import SqliteStore, WriteSample
        s = SqliteStore({p!r})
        for i in range(50):
            s.write([WriteSample("g", (("host", "a"),), float(i), "gauge", {T0} + i)])
        print("written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -signal.SIGKILL and "written" in r.stdout
    s = SqliteStore(p)
    pts = s.query_range("g", {"host": "a"}, T0, T0 + 49, 1)[0].points
    assert len(pts) == 50 and pts[-1] == (T0 + 49, 49.0)
    assert os.path.exists(p)
