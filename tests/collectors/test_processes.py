"""processes collector: counts by state and the budgeted top-N by CPU and memory."""

from __future__ import annotations

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.cpu import USER_HZ
from autobot_monitor.collectors.processes import PAGE_SIZE, ProcessesCollector, parse_stat
from autobot_monitor.collectors.runner import CollectorRunner
from autobot_monitor.errors import CollectorError


def proc(host, pid, comm, **kw):
    host.proc(f"{pid}/stat", host.pid_stat(pid, comm, **kw))


def test_recorded_counts_and_memory(recorded):
    fams = ProcessesCollector(recorded.ctx()).collect()
    assert recorded.values(fams, "node_processes_state") == {
        (("state", "R"),): 1, (("state", "S"),): 1}
    assert recorded.value(fams, "node_processes_pids") == 2
    assert recorded.value(fams, "node_processes_threads") == 32
    assert recorded.value(fams, "autobot_process_resident_memory_bytes", pid="4242",
                          name="Web Content (x)") == 250000 * PAGE_SIZE
    assert "autobot_process_cpu_percent" not in recorded.names(fams)  # first scan: no delta


def test_comm_with_spaces_and_parentheses_parsed_by_last_paren():
    st = parse_stat(9, "9 (a) b (c) R 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 20 0 4 0 55 100 12 0 0 0\n")
    assert st is not None
    assert (st.comm, st.state, st.ticks, st.threads, st.starttime, st.rss_pages) == (
        "a) b (c", "R", 10, 4, 55, 12)


def test_cpu_percent_from_tick_deltas_over_monotonic_time(host):
    proc(host, 10, "busy", utime=100, rss=10)
    proc(host, 11, "idle", utime=5, rss=20)
    c = ProcessesCollector(host.ctx())
    c.collect()
    proc(host, 10, "busy", utime=100 + 3 * USER_HZ, stime=int(1.5 * USER_HZ), rss=10)
    host.clock.advance(15)
    host.clock.set_wall(host.clock.time() - 7200)  # wall clock stepping back changes nothing
    fams = c.collect()
    assert host.value(fams, "autobot_process_cpu_percent", pid="10", name="busy") == pytest.approx(30.0)
    assert host.value(fams, "autobot_process_cpu_percent", pid="11", name="idle") == 0.0


@pytest.mark.parametrize("options,every", [({}, 15), ({"scan_interval": 4}, 4),
                                           ({"interval": 6, "scan_interval": 4}, 6)])
async def test_full_scan_at_most_every_interval_in_between_last_result(host, options, every):
    """Through the real runner on the fake clock: the option (or its old name) sets the
    interval; the cycles in between serve the last scan's figures."""
    proc(host, 10, "a", state="R")
    runner = CollectorRunner([ProcessesCollector(host.ctx({"processes": options}))],
                             clock=host.clock)
    fams, _ = await runner.run()
    assert host.value(fams, "node_processes_pids") == 1
    proc(host, 11, "b")
    host.clock.advance(every - 1)
    fams, (result,) = await runner.run()
    assert host.value(fams, "node_processes_pids") == 1  # the last scan again
    assert host.values(fams, "node_processes_state") == {(("state", "R"),): 1}
    assert not result.fresh
    host.clock.advance(1)
    fams, (result,) = await runner.run()
    assert host.value(fams, "node_processes_pids") == 2 and result.fresh
    assert host.value(fams, "autobot_scrape_collector_interval_seconds",
                      collector="processes") == every
    runner.close()


def test_collect_itself_scans_on_every_call(host):
    proc(host, 10, "a")
    c = ProcessesCollector(host.ctx())
    assert host.value(c.collect(), "node_processes_pids") == 1
    proc(host, 11, "b")
    assert host.value(c.collect(), "node_processes_pids") == 2


def test_max_processes_caps_the_scan(host):
    for pid in range(100, 110):
        proc(host, pid, f"p{pid}")
    fams = ProcessesCollector(host.ctx({"processes": {"max_processes": 3}})).collect()
    assert host.value(fams, "node_processes_pids") == 3


def test_top_n_is_union_of_top_cpu_and_top_memory(host):
    for pid in range(1, 6):
        proc(host, pid, f"p{pid}", rss=pid * 100, utime=0)
    c = ProcessesCollector(host.ctx({"processes": {"top_n": 1}}))
    c.collect()
    proc(host, 2, "p2", rss=200, utime=USER_HZ * 15)  # most CPU, little memory
    host.clock.advance(15)
    fams = c.collect()
    rss = host.values(fams, "autobot_process_resident_memory_bytes")
    assert {dict(k)["pid"] for k in rss} == {"2", "5"}
    cpu = host.values(fams, "autobot_process_cpu_percent")
    assert cpu[(("name", "p2"), ("pid", "2"))] == pytest.approx(100.0)
    assert {k for s in [*rss, *cpu] for k, _ in s} == {"pid", "name"}  # no cmdline, no user


def test_vanished_and_garbled_processes_are_skipped(host):
    proc(host, 10, "ok")
    (host.procfs / "77").mkdir()  # listed, but gone before its stat is read
    host.proc("78/stat", "78 (trunc) S 1 2")
    host.proc("79/stat", "\x00\x01 garbage")
    host.proc("80/stat", host.pid_stat(80, "x", threads="zz"))
    host.proc("self/stat", host.pid_stat(10, "ok"))  # not a pid directory
    fams = ProcessesCollector(host.ctx()).collect()
    assert host.value(fams, "node_processes_pids") == 1
    assert host.value(fams, "autobot_process_resident_memory_bytes", pid="10", name="ok") == 0


def test_reused_pid_gets_no_bogus_cpu(host):
    proc(host, 10, "old", utime=5000, starttime=100)
    c = ProcessesCollector(host.ctx())
    c.collect()
    proc(host, 10, "new", utime=9000, starttime=900)
    host.clock.advance(15)
    assert "autobot_process_cpu_percent" not in host.names(c.collect())


def test_missing_procfs_raises(tmp_path):
    ctx = CollectorContext(procfs=str(tmp_path / "nope"), clock=FakeClock())
    with pytest.raises(CollectorError):
        ProcessesCollector(ctx).collect()


def test_real_machine_collects_plausible_values():
    clock = FakeClock()
    c = ProcessesCollector(CollectorContext(clock=clock))
    fams = c.collect()
    byname = {f.name: f for f in fams}
    assert byname["node_processes_pids"].samples[0].value >= 1
    assert byname["node_processes_threads"].samples[0].value >= 1
    clock.advance(15)
    fams = c.collect()
    for f in fams:
        assert all(s.value >= 0 for s in f.samples)
