"""uptime collector: btime, wall clock, /proc/uptime."""

from __future__ import annotations

import time

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.uptime import UptimeCollector
from autobot_monitor.errors import CollectorError


def test_recorded_boot_time_uptime_and_clock(recorded):
    fams = UptimeCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_boot_time_seconds") == 1700000000
    assert recorded.value(fams, "autobot_uptime_seconds") == 86400.25
    assert recorded.value(fams, "node_time_seconds") == recorded.clock.time()


def test_node_time_follows_the_wall_clock_even_backwards(recorded):
    c = UptimeCollector(recorded.ctx())
    c.collect()
    recorded.clock.set_wall(1_600_000_000.0)
    assert recorded.value(c.collect(), "node_time_seconds") == 1_600_000_000.0


def test_garbage_inputs_leave_families_out(host):
    host.proc("stat", "cpu 1 2 3 4\nbtime soon\n")
    host.proc("uptime", "forever 1\n")
    fams = UptimeCollector(host.ctx()).collect()
    assert host.names(fams) == {"node_time_seconds"}


def test_one_source_missing_is_not_an_error(host):
    host.proc("uptime", "12.5 3.0\n")
    fams = UptimeCollector(host.ctx()).collect()
    assert host.names(fams) == {"node_time_seconds", "autobot_uptime_seconds"}


def test_both_sources_missing_raises(host):
    with pytest.raises(CollectorError):
        UptimeCollector(host.ctx()).collect()


def test_real_machine_collects_plausible_values():
    fams = UptimeCollector(CollectorContext()).collect()
    byname = {f.name: f.samples[0].value for f in fams}
    assert 0 < byname["node_boot_time_seconds"] <= time.time()
    assert byname["autobot_uptime_seconds"] > 0
    assert abs(byname["node_time_seconds"] - time.time()) < 60
