"""memory collector: /proc/meminfo."""

from __future__ import annotations

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.memory import MemoryCollector, metric_key
from autobot_monitor.errors import CollectorError

MEMINFO = """MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    4000000 kB
Active(anon):     500000 kB
SwapTotal:       1000000 kB
SwapFree:         750000 kB
HugePages_Total:       4
Hugepagesize:       2048 kB
NewFieldFromFutureKernel: 12 kB
"""


def test_fields_exported_like_node_exporter(host):
    host.proc("meminfo", MEMINFO)
    fams = MemoryCollector(host.ctx()).collect()
    assert host.value(fams, "node_memory_MemTotal_bytes") == 16000000 * 1024
    assert host.value(fams, "node_memory_Active_anon_bytes") == 500000 * 1024
    assert host.value(fams, "node_memory_HugePages_Total") == 4
    assert host.value(fams, "node_memory_Hugepagesize_bytes") == 2048 * 1024
    assert host.value(fams, "node_memory_NewFieldFromFutureKernel_bytes") == 12 * 1024
    assert all(f.type == "gauge" for f in fams)


def test_derived_percentages(host):
    host.proc("meminfo", MEMINFO)
    fams = MemoryCollector(host.ctx()).collect()
    assert host.value(fams, "autobot_memory_used_percent") == 75.0
    assert host.value(fams, "autobot_swap_used_percent") == 25.0


def test_swap_percent_absent_without_swap(host):
    host.proc("meminfo", MEMINFO.replace("1000000 kB", "0 kB").replace("750000 kB", "0 kB"))
    fams = MemoryCollector(host.ctx()).collect()
    assert "autobot_swap_used_percent" not in host.names(fams)
    assert host.value(fams, "node_memory_SwapTotal_bytes") == 0


def test_parenthesised_keys():
    assert metric_key("Active(anon)") == "Active_anon"
    assert metric_key("Inactive(file)") == "Inactive_file"
    assert metric_key("MemTotal") == "MemTotal"


def test_garbage_lines_skipped_others_reported(host):
    host.proc("meminfo", MEMINFO + "Broken:\nWeird: 12 MB\nBad-Name!: 3 kB\nNeg: -5 kB\n"
              "\x00\x01garbage\nMemFree: 1 kB\nCut: 12")
    fams = MemoryCollector(host.ctx()).collect()
    assert host.value(fams, "node_memory_MemFree_bytes") == 2000000 * 1024  # first one wins
    assert host.value(fams, "node_memory_Cut") == 12
    got = host.names(fams)
    assert not [n for n in got if "Broken" in n or "Weird" in n or "Bad" in n or "Neg" in n]
    assert "node_memory_MemTotal_bytes" in got


def test_recorded_real_meminfo(recorded):
    fams = MemoryCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_memory_MemTotal_bytes") > 0
    assert 0 <= recorded.value(fams, "autobot_memory_used_percent") <= 100


def test_missing_file_raises(host):
    with pytest.raises(CollectorError, match="meminfo"):
        MemoryCollector(host.ctx()).collect()


def test_real_machine_collects_plausible_values():
    fams = MemoryCollector(CollectorContext()).collect()
    byname = {f.name: f.samples[0].value for f in fams}
    assert byname["node_memory_MemTotal_bytes"] > 0
    assert byname["node_memory_MemAvailable_bytes"] <= byname["node_memory_MemTotal_bytes"]
    assert 0 <= byname["autobot_memory_used_percent"] <= 100
