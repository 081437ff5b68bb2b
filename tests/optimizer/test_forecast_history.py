"""Forecasts (time to full, to memory exhausted) need a stated minimum of history: below it, or
farther ahead than the history supports, they say 'not enough history' instead of a figure."""

from __future__ import annotations

from optsupport import NOW, cfg, host, inp, linear, series

from autobot_monitor.optimizer.host_analyzers import (
    FORECAST_MIN_HISTORY,
    NOT_ENOUGH_HISTORY,
    analyze_disk,
    analyze_memory,
)

GIB, MIB = 2**30, 2**20


def disk(vals, start, used):
    h = host(summary={"filesystems": [{"mountpoint": "/", "used_percent": used}]})
    s = series("node_filesystem_avail_bytes", {"host": "box", "mountpoint": "/"}, vals, start=start)
    return analyze_disk(inp(cfg(), [h], history={"node_filesystem_avail_bytes": [s]}))


def test_sixteen_minutes_of_writes_give_no_time_to_full():
    # pip writing 60 MiB/min for 16 minutes, 10 GiB free: a fit would say "full in ~2.8 h"
    vals = linear(10 * GIB, -60 * MIB, n=17)
    assert disk(vals, NOW - 16 * 60, used=70.0) == []  # below the use threshold: nothing to say
    (rec,) = disk(vals, NOW - 16 * 60, used=92.0)  # above it: the level, without a forecast
    v = rec.evidence["values"]
    assert "seconds_until_full" not in v and v["forecast"] == NOT_ENOUGH_HISTORY
    assert v["history_seconds"] == 16 * 60 and v["min_history_seconds"] == FORECAST_MIN_HISTORY
    assert NOT_ENOUGH_HISTORY in rec.title and "full in" not in rec.title


def test_forecast_farther_than_the_history_supports_is_withheld():
    # one hour of slow writes, 100 GiB free at 1 GiB/h: 100 h ahead > 12 x 1 h of history
    vals = linear(100 * GIB, -GIB / 60, n=61)
    (rec,) = disk(vals, NOW - 3600, used=91.0)
    assert rec.evidence["values"]["forecast"] == NOT_ENOUGH_HISTORY


def test_forecast_within_reach_is_a_figure():
    vals = linear(4 * GIB, -GIB / 60, n=61)  # 1 h of history, full in ~3 h
    (rec,) = disk(vals, NOW - 3600, used=50.0)
    v = rec.evidence["values"]
    assert abs(v["seconds_until_full"] - 3 * 3600) < 120 and "forecast" not in v


def test_leak_exhaustion_needs_history_too():
    rss = series("autobot_process_resident_memory_bytes", {"host": "box", "pid": "1", "name": "x"},
                 linear(200 * MIB, 100 * MIB / 60, n=61))
    h = host(summary={"memory": {"available_bytes": 100_000 * MIB}})  # 1000 h at 100 MiB/h
    (rec,) = analyze_memory(inp(cfg(), [h], history={"autobot_process_resident_memory_bytes": [rss]}))
    v = rec.evidence["values"]
    assert "hours_until_memory_exhausted" not in v and v["forecast"] == NOT_ENOUGH_HISTORY
    assert rec.severity == "medium"
