"""loadavg collector: /proc/loadavg."""

from __future__ import annotations

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.loadavg import LoadavgCollector
from autobot_monitor.errors import CollectorError


def test_recorded_load_averages(recorded):
    fams = LoadavgCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_load1") == 0.52
    assert recorded.value(fams, "node_load5") == 0.34
    assert recorded.value(fams, "node_load15") == 0.25


def test_garbage_field_is_skipped_others_reported(host):
    host.proc("loadavg", "0.10 banana nan 1/2 3\n")
    fams = LoadavgCollector(host.ctx()).collect()
    assert host.names(fams) == {"node_load1"}


def test_truncated_file_reports_what_it_has(host):
    host.proc("loadavg", "1.5 ")
    fams = LoadavgCollector(host.ctx()).collect()
    assert host.value(fams, "node_load1") == 1.5
    assert len(fams) == 1


def test_missing_file_raises(host):
    with pytest.raises(CollectorError, match="loadavg"):
        LoadavgCollector(host.ctx()).collect()


def test_real_machine_collects_plausible_values():
    fams = LoadavgCollector(CollectorContext()).collect()
    assert {f.name for f in fams} == {"node_load1", "node_load5", "node_load15"}
    assert all(s.value >= 0 for f in fams for s in f.samples)
