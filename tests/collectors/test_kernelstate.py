"""vmstat, pressure, filefd, entropy, schedstat, timex, uname, os, time and process collectors:
recorded tree and replayed syscall answers, odd input, missing files, this machine."""

from __future__ import annotations

import os
import resource
import time

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.clock import TimeCollector
from autobot_monitor.collectors.pressure import PressureCollector
from autobot_monitor.collectors.process import ProcessSelfCollector, address_space_limit
from autobot_monitor.collectors.schedstat import SchedstatCollector
from autobot_monitor.collectors.sysctl import EntropyCollector, FilefdCollector
from autobot_monitor.collectors.sysinfo import (
    OsCollector,
    SelinuxCollector,
    UnameCollector,
    parse_os_release,
)
from autobot_monitor.collectors.timex import STA_NANO, TimexCollector, read_timex
from autobot_monitor.collectors.vmstat import VmstatCollector
from autobot_monitor.errors import CollectorError


def test_vmstat_default_fields(recorded):
    fams = VmstatCollector(recorded.ctx()).collect()
    assert recorded.names(fams) >= {"node_vmstat_pgfault", "node_vmstat_pgmajfault",
                                    "node_vmstat_pgpgin", "node_vmstat_pswpout",
                                    "node_vmstat_oom_kill"}
    assert all(n.startswith(("node_vmstat_pg", "node_vmstat_pswp", "node_vmstat_oom_kill"))
               for n in recorded.names(fams))
    assert {f.type for f in fams} == {"untyped"}


def test_vmstat_fields_option_and_garbage(host):
    host.proc("vmstat", "nr_free_pages 10\nnr_dirty x\nnr_bad\npgfault 3\nnr-odd 4\n")
    fams = VmstatCollector(host.ctx({"vmstat": {"fields": "^nr_"}})).collect()
    assert {s.name: s.value for f in fams for s in f.samples} == {"node_vmstat_nr_free_pages": 10}
    assert VmstatCollector(CollectorContext(procfs="/nonexistent")).collect() == []


def test_pressure_recorded_tree_in_seconds(recorded):
    fams = PressureCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_pressure_cpu_waiting_seconds_total") == \
        16551658 / 1000.0 / 1000.0
    # node_exporter 1.5 has no cpu "full" family even where the kernel writes the line
    assert len(fams) == 5 and {f.type for f in fams} == {"counter"}


def test_pressure_without_psi_or_with_garbage(host):
    assert PressureCollector(host.ctx()).collect() == []
    host.proc("pressure/io", "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n"
                             "full avg10=0.00 total=-5\n")
    fams = PressureCollector(host.ctx()).collect()
    assert {s.name: s.value for f in fams for s in f.samples} == {
        "node_pressure_io_waiting_seconds_total": 2.0}


def test_pressure_share_of_time_since_the_previous_collection(host):
    def write(some_us: int, full_us: int) -> None:
        host.proc("pressure/memory", f"some avg10=0.00 avg60=0.00 avg300=0.00 total={some_us}\n"
                                     f"full avg10=0.00 avg60=0.00 avg300=0.00 total={full_us}\n")
    c = PressureCollector(host.ctx())
    write(1_000_000, 500_000)
    first = c.collect()
    assert not [f for f in first if f.name.startswith("autobot_")]  # no previous reading
    host.clock.advance(10)
    write(3_000_000, 1_500_000)  # 2 s of some and 1 s of full stall in 10 s
    fams = {f.name: f for f in c.collect()}
    assert [(s.labels, s.value) for s in fams["autobot_pressure_waiting_percent"].samples] == [
        ((("resource", "memory"),), 20.0)]
    assert fams["autobot_pressure_stalled_percent"].samples[0].value == 10.0
    host.clock.advance(10)
    write(100, 50)  # counters went down (reboot under a kept agent): no share, never negative
    assert not [f for f in c.collect() if f.name.startswith("autobot_")]


def test_filefd_and_entropy_recorded(recorded):
    fams = FilefdCollector(recorded.ctx()).collect() + EntropyCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_filefd_allocated") == 917
    assert recorded.value(fams, "node_filefd_maximum") == 2466239
    assert recorded.value(fams, "node_entropy_pool_size_bits") == 256


def test_filefd_and_entropy_garbage_or_missing(host):
    host.proc("sys/fs/file-nr", "12\t0\n")
    host.proc("sys/kernel/random/entropy_avail", "lots\n")
    host.proc("sys/kernel/random/poolsize", "4096\n")
    fams = FilefdCollector(host.ctx()).collect() + EntropyCollector(host.ctx()).collect()
    assert {s.name: s.value for f in fams for s in f.samples} == {
        "node_entropy_pool_size_bits": 4096}


def test_schedstat_recorded(recorded):
    fams = SchedstatCollector(recorded.ctx()).collect()
    assert recorded.value(fams, "node_schedstat_running_seconds_total", cpu="1") == \
        2119478474848416 / 1e9
    assert recorded.value(fams, "node_schedstat_timeslices_total", cpu="0") == 4767485306
    assert SchedstatCollector(CollectorContext(procfs="/nonexistent")).collect() == []


def _replayed(state: int, **fields: int):
    base = dict.fromkeys(("modes", "offset", "freq", "maxerror", "esterror", "status",
                          "constant", "precision", "tolerance", "time_sec", "time_usec", "tick",
                          "ppsfreq", "jitter", "shift", "stabil", "jitcnt", "calcnt", "errcnt",
                          "stbcnt", "tai"), 0)
    base.update(fields)

    class Replayed(TimexCollector):
        read = staticmethod(lambda: (state, base))
    return Replayed(CollectorContext())


def test_timex_microsecond_and_nanosecond_status(host):
    us = _replayed(0, offset=-1500, jitter=20, freq=65536 * 10, maxerror=16000000, tick=10000,
                   status=0x1, tai=37, jitcnt=4)
    fams = us.collect()
    assert host.value(fams, "node_timex_offset_seconds") == -0.0015
    assert host.value(fams, "node_timex_frequency_adjustment_ratio") == 1 + 10 / 1e6
    assert host.value(fams, "node_timex_maxerror_seconds") == 16.0
    assert host.value(fams, "node_timex_tick_seconds") == 0.01
    assert host.value(fams, "node_timex_sync_status") == 1
    assert host.value(fams, "node_timex_tai_offset_seconds") == 37
    assert host.value(fams, "node_timex_pps_jitter_total") == 4
    ns = _replayed(5, offset=-1500, jitter=20, status=STA_NANO | 0x40).collect()
    assert host.value(ns, "node_timex_offset_seconds") == -1.5e-6
    assert host.value(ns, "node_timex_pps_jitter_seconds") == 20 / 1e9
    assert host.value(ns, "node_timex_sync_status") == 0  # TIME_ERROR
    assert host.value(ns, "node_timex_status") == STA_NANO | 0x40


def test_timex_not_permitted_emits_nothing():
    class Denied(TimexCollector):
        read = staticmethod(lambda: None)
    assert Denied(CollectorContext()).collect() == []


def test_timex_real_syscall_changes_nothing_and_is_sane():
    state, tx = read_timex()
    assert 0 <= state <= 5 and tx["modes"] == 0
    fams = TimexCollector(CollectorContext()).collect()
    assert len(fams) == 17
    tick = next(f for f in fams if f.name == "node_timex_tick_seconds").samples[0].value
    assert 0 < tick <= 0.1  # 1/HZ-ish, 10 ms at USER_HZ 100
    assert read_timex()[1]["freq"] == tx["freq"]  # read-only: the clock was not adjusted


def test_uname_real_and_replayed(host):
    real = UnameCollector(CollectorContext()).collect()[0].samples[0].label_dict
    assert real["sysname"] == os.uname().sysname and real["release"] == os.uname().release
    assert real["nodename"] == os.uname().nodename and real["domainname"]

    class Replayed(UnameCollector):
        read = staticmethod(lambda: {"sysname": "Linux", "nodename": "n1", "release": "6.1",
                                     "version": "#1", "machine": "aarch64",
                                     "domainname": "(none)"})
    fams = Replayed(host.ctx()).collect()
    assert fams[0].type == "info"
    assert host.value(fams, "node_uname_info", sysname="Linux", nodename="n1", release="6.1",
                      version="#1", machine="aarch64", domainname="(none)") == 1


def test_os_recorded_tree(recorded):
    fams = OsCollector(recorded.ctx()).collect()
    info = next(f for f in fams if f.name == "node_os_info").samples[0].label_dict
    assert info["id"] == "debian" and info["version_id"] == "12" and info["build_id"] == ""
    assert recorded.value(fams, "node_os_version", id="debian", id_like="",
                          name="Debian GNU/Linux") == 12


def test_os_falls_back_to_usr_lib_and_parses_quotes(host):
    (host.rootfs / "usr/lib").mkdir(parents=True)
    (host.rootfs / "usr/lib/os-release").write_text(
        '# comment\nNAME="Ubuntu \\"LTS\\""\nID=ubuntu\nID_LIKE=\'debian\'\n'
        'VERSION_ID="22.04.3"\nbroken line\nVERSION="22.04\n')
    fams = OsCollector(host.ctx()).collect()
    info = next(f for f in fams if f.name == "node_os_info").samples[0].label_dict
    assert (info["name"], info["id_like"], info["version"]) == ('Ubuntu "LTS"', "debian", "")
    assert host.value(fams, "node_os_version", id="ubuntu", id_like="debian",
                      name='Ubuntu "LTS"') == 22.04


def test_os_without_version_or_file(host):
    assert OsCollector(host.ctx()).collect() == []
    (host.rootfs / "etc").mkdir()
    (host.rootfs / "etc/os-release").write_text("ID=arch\nBUILD_ID=rolling\n")
    assert host.names(OsCollector(host.ctx()).collect()) == {"node_os_info"}
    assert parse_os_release("export A=1 # c\nB='x y'\n") == {"A": "1", "B": "x y"}


def test_time_zone_and_recorded_clocksources(recorded, monkeypatch):
    monkeypatch.setenv("TZ", "CET-1")
    time.tzset()
    try:
        recorded.clock.set_wall(1_700_000_000.0)  # November: no daylight saving
        fams = TimeCollector(recorded.ctx()).collect()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert recorded.value(fams, "node_time_zone_offset_seconds", time_zone="CET") == 3600
    assert recorded.values(fams, "node_time_clocksource_available_info") == {
        (("clocksource", "kvm-clock"), ("device", "0")): 1,
        (("clocksource", "tsc"), ("device", "0")): 1}
    assert recorded.value(fams, "node_time_clocksource_current_info", device="0",
                          clocksource="tsc") == 1


def test_time_without_sysfs_has_only_the_zone(host):
    assert host.names(TimeCollector(host.ctx()).collect()) == {"node_time_zone_offset_seconds"}


def test_process_self_figures_are_this_process():
    fams = {f.name: f.samples[0].value
            for f in ProcessSelfCollector(CollectorContext(procfs="/nonexistent")).collect()}
    assert set(fams) == {s.name for s in ProcessSelfCollector.SPECS}
    soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert fams["process_max_fds"] == soft_nofile
    assert 0 < fams["process_open_fds"] <= soft_nofile
    assert 0 < fams["process_resident_memory_bytes"] < fams["process_virtual_memory_bytes"]
    assert fams["process_start_time_seconds"] <= time.time()
    assert fams["process_cpu_seconds_total"] > 0


@pytest.mark.parametrize(("text", "want"), [
    ("Max address space         unlimited            unlimited            bytes\n", 2.0**64 - 1),
    ("Max address space         4096                 unlimited            bytes\n", 4096.0),
    ("Max open files 1024 1024 files\n", None),
])
def test_address_space_limit(text, want):
    assert address_space_limit(text) == want


def test_real_machine_kernel_state_is_sane():
    ctx = CollectorContext()
    fams = [f for c in (VmstatCollector, FilefdCollector, EntropyCollector, OsCollector,
                        TimeCollector) for f in c(ctx).collect()]
    byname = {f.name: f.samples[0].value for f in fams}
    assert byname["node_vmstat_pgfault"] > 0
    assert 0 < byname["node_filefd_allocated"] <= byname["node_filefd_maximum"]
    assert 0 <= byname["node_entropy_available_bits"] <= byname["node_entropy_pool_size_bits"]
    assert byname["node_os_info"] == 1
    assert "node_time_clocksource_current_info" in byname
    if os.path.exists("/proc/pressure/cpu"):
        psi = PressureCollector(ctx).collect()
        assert {f.name for f in psi} >= {"node_pressure_cpu_waiting_seconds_total"}
        assert all(s.value >= 0 for f in psi for s in f.samples)


def test_timex_libc_failure_is_a_collector_error(monkeypatch):
    import autobot_monitor.collectors.timex as tm

    class NoLibc:
        def __getattr__(self, name):
            raise AttributeError(name)
    monkeypatch.setattr(tm, "_libc", lambda: NoLibc())
    with pytest.raises(CollectorError):
        tm.read_timex()


def test_selinux_disabled_without_selinuxfs_enabled_with_it(host):
    assert host.values(SelinuxCollector(host.ctx()).collect(), "node_selinux_enabled") == {(): 0}
    host.sys("fs/selinux/enforce", "1\n")
    (host.rootfs / "etc/selinux").mkdir(parents=True)
    (host.rootfs / "etc/selinux/config").write_text("# c\nSELINUX=permissive\nSELINUXTYPE=targeted\n")
    host.proc("self/attr/current", "system_u:system_r:unconfined_t:s0\0")
    fams = SelinuxCollector(host.ctx()).collect()
    assert {f.name: f.samples[0].value for f in fams} == {
        "node_selinux_enabled": 1, "node_selinux_config_mode": 0, "node_selinux_current_mode": 1}
    host.proc("self/attr/current", "kernel\0")  # selinuxfs mounted but no policy loaded
    assert host.names(SelinuxCollector(host.ctx()).collect()) == {"node_selinux_enabled"}
