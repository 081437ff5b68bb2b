"""cpu collector: /proc/stat counters and derived utilisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.cpu import MODES, USER_HZ, CpuCollector, utilization
from autobot_monitor.errors import CollectorError

BASE = [1000, 10, 500, 8000, 100, 0, 20, 5, 0, 0]


def test_recorded_counters_in_seconds_per_core(recorded):
    fams = CpuCollector(recorded.ctx()).collect()
    secs = recorded.values(fams, "node_cpu_seconds_total")
    assert len(secs) == 4 * len(MODES)  # four cores, no "all" line in node_cpu_seconds_total
    assert recorded.value(fams, "node_cpu_seconds_total", cpu="0", mode="user") == 100000 / USER_HZ
    assert recorded.value(fams, "node_cpu_seconds_total", cpu="3", mode="steal") == 200 / USER_HZ
    assert recorded.value(fams, "node_cpu_guest_seconds_total", cpu="1", mode="user") == 500 / USER_HZ
    assert recorded.value(fams, "node_context_switches_total") == 98765432
    assert recorded.value(fams, "node_intr_total") == 52000000
    assert recorded.value(fams, "node_forks_total") == 123456
    assert recorded.value(fams, "node_procs_running") == 2
    assert recorded.value(fams, "node_procs_blocked") == 1


def test_first_call_has_no_derived_families(recorded):
    fams = CpuCollector(recorded.ctx()).collect()
    assert "autobot_cpu_utilization_percent" not in recorded.names(fams)
    assert "autobot_cpu_busy_percent" not in recorded.names(fams)


def test_utilization_from_deltas_between_two_reads(host):
    host.proc("stat", host.stat_text({"all": BASE, "0": BASE}))
    c = CpuCollector(host.ctx())
    c.collect()
    # +60 user, +20 system, +100 idle, +20 iowait => total 200
    nxt = [1060, 10, 520, 8100, 120, 0, 20, 5, 0, 0]
    host.proc("stat", host.stat_text({"all": nxt, "0": nxt}))
    host.clock.advance(2)
    fams = c.collect()
    for cpu in ("all", "0"):
        assert host.value(fams, "autobot_cpu_utilization_percent", cpu=cpu, mode="user") == 30.0
        assert host.value(fams, "autobot_cpu_utilization_percent", cpu=cpu, mode="idle") == 50.0
        assert host.value(fams, "autobot_cpu_utilization_percent", cpu=cpu, mode="iowait") == 10.0
        assert host.value(fams, "autobot_cpu_busy_percent", cpu=cpu) == 40.0
    total = sum(v for k, v in host.values(fams, "autobot_cpu_utilization_percent").items()
                if ("cpu", "all") in k)
    assert total == pytest.approx(100.0)


def test_counter_going_down_skips_that_cpu_and_never_leaves_0_100(host):
    host.proc("stat", host.stat_text({"all": BASE, "0": BASE, "1": BASE}))
    c = CpuCollector(host.ctx())
    c.collect()
    down = [900, 10, 600, 9000, 150, 0, 20, 5, 0, 0]   # user went down on cpu0 (hot-plug/reset)
    up = [1100, 10, 600, 9000, 150, 0, 20, 5, 0, 0]
    host.proc("stat", host.stat_text({"all": up, "0": down, "1": up}))
    host.clock.advance(5)
    fams = c.collect()
    util = host.values(fams, "autobot_cpu_utilization_percent")
    busy = host.values(fams, "autobot_cpu_busy_percent")
    assert all(0.0 <= v <= 100.0 for v in [*util.values(), *busy.values()])
    assert host.value(fams, "autobot_cpu_busy_percent", cpu="0") is None
    assert host.value(fams, "autobot_cpu_busy_percent", cpu="1") is not None
    assert not [k for k in util if ("cpu", "0") in k]
    # next cycle measures from the new baseline again
    later = [d + 10 for d in down]
    host.proc("stat", host.stat_text({"all": up, "0": later, "1": up}))
    host.clock.advance(5)
    assert host.value(c.collect(), "autobot_cpu_busy_percent", cpu="0") is not None


def test_guest_counter_going_down_is_a_reset_too(host):
    host.proc("stat", host.stat_text({"0": [*BASE[:8], 50, 0]}))
    c = CpuCollector(host.ctx())
    c.collect()
    host.proc("stat", host.stat_text({"0": [1100, 10, 600, 9000, 150, 0, 20, 5, 10, 0]}))
    assert host.value(c.collect(), "autobot_cpu_busy_percent", cpu="0") is None


def test_no_time_elapsed_gives_no_derived_values(host):
    host.proc("stat", host.stat_text({"0": BASE}))
    c = CpuCollector(host.ctx())
    c.collect()
    assert "autobot_cpu_busy_percent" not in host.names(c.collect())


def test_garbage_and_truncated_lines_are_skipped(host):
    text = host.stat_text({"all": BASE, "0": BASE, "1": BASE},
                          extra="cpu2 abc def\ncpu3 1 2\ncpuX 1 2 3 4 5\nctxt\nprocs_running x\n\x00\n")
    text = text.replace("intr 1000 1 2 3", "intr banana")
    host.proc("stat", text)
    fams = CpuCollector(host.ctx()).collect()
    cpus = {dict(k)["cpu"] for k in host.values(fams, "node_cpu_seconds_total")}
    assert cpus == {"0", "1"}
    assert "node_intr_total" not in host.names(fams)
    assert host.value(fams, "node_context_switches_total") == 5000
    assert host.value(fams, "node_procs_running") == 2


def test_old_kernel_short_cpu_lines_are_padded(host):
    host.proc("stat", host.stat_text({"0": [10, 0, 5, 100]}))
    fams = CpuCollector(host.ctx()).collect()
    assert host.value(fams, "node_cpu_seconds_total", cpu="0", mode="steal") == 0.0


def test_missing_proc_stat_raises_collector_error(host):
    with pytest.raises(CollectorError, match="stat"):
        CpuCollector(host.ctx()).collect()


counters = st.lists(st.integers(min_value=0, max_value=2**63), min_size=10, max_size=10)


@given(st.lists(counters, min_size=2, max_size=6))
def test_utilization_never_outside_0_100_for_arbitrary_counter_sequences(seq):
    for prev, cur in zip(seq, seq[1:], strict=False):
        shares = utilization(prev, cur)
        if shares is None:
            assert any(c < p for p, c in zip(prev, cur, strict=True)) or sum(
                c - p for p, c in zip(prev[:8], cur[:8], strict=True)) == 0
            continue
        assert set(shares) == {*MODES, "busy"}
        for v in shares.values():
            assert 0.0 <= v <= 100.0


def test_real_machine_collects_plausible_values():
    c = CpuCollector(CollectorContext())
    fams = c.collect()
    cpus = {s.label_dict["cpu"] for f in fams if f.name == "node_cpu_seconds_total"
            for s in f.samples}
    assert len(cpus) >= 1
    assert all(s.value >= 0 for f in fams for s in f.samples)
    fams = c.collect()
    for f in fams:
        if f.name.startswith("autobot_cpu_"):
            assert all(0 <= s.value <= 100 for s in f.samples)
