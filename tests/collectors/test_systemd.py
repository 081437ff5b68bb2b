"""systemd collector: recorded systemctl answers (tests/fixtures/systemd), replayed through an
injected runner and through a fake ``systemctl`` script on PATH (the real subprocess path);
this machine's PID 1 is not systemd, which the last tests check too."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from autobot_monitor.collectors import collector_class
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.command import CommandResult
from autobot_monitor.collectors.systemd import (
    SystemdCollector,
    parse_list_units,
    parse_timestamp,
)
from autobot_monitor.errors import CollectorError
from autobot_monitor.model import find_samples
from support import pid_alive, wait_until

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "systemd"
STATES = ("active", "activating", "deactivating", "inactive", "failed")


def recorded(argv, timeout):
    """The recorded answer to each of the collector's three calls."""
    if "list-units" in argv:
        return CommandResult("ok", 0, (FIX / "list-units.txt").read_text())
    if any(a.startswith("--property=Id") for a in argv):
        return CommandResult("ok", 0, (FIX / "show-units.txt").read_text())
    return CommandResult("ok", 0, (FIX / "manager.txt").read_text())


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """A root where systemd is the init system (sd_booted: /run/systemd/system exists)."""
    (tmp_path / "root" / "run" / "systemd" / "system").mkdir(parents=True)
    return tmp_path / "root"


def make(rootfs, run=recorded, **options) -> SystemdCollector:
    return SystemdCollector(CollectorContext(rootfs=str(rootfs), options={"systemd": options}),
                            run=run)


def samples(fams, metric, /, **labels):
    """find_samples, with a ``name`` label allowed."""
    return [s for s in find_samples(fams, metric)
            if all(s.label_dict.get(k) == v for k, v in labels.items())]


def one(fams, metric, /, **labels):
    found = samples(fams, metric, **labels)
    assert len(found) == 1, (metric, labels, found)
    return found[0].value


def unit_names(fams):
    return {s.label_dict["name"] for s in samples(fams, "node_systemd_unit_state")}


def test_states_one_series_per_state_with_service_type(rootfs):
    fams = make(rootfs).collect()
    for state in STATES:
        want = 1 if state == "failed" else 0
        assert one(fams, "node_systemd_unit_state", name="nginx.service", state=state,
                   type="forking") == want
    assert one(fams, "node_systemd_unit_state", name="autobot-agent.service",
               state="activating", type="simple") == 1
    assert one(fams, "node_systemd_unit_state", name="cron.service", state="active") == 1
    assert len(samples(fams, "node_systemd_unit_state", name="cron.service")) == 5


def test_default_filter_keeps_loaded_services_only(rootfs):
    fams = make(rootfs).collect()
    assert unit_names(fams) == {"cron.service", "dbus.service", "nginx.service",
                                "autobot-agent.service", "redis-server.service",
                                "systemd-tmpfiles-setup.service", "apt-daily.service"}
    # mysql.service is not-found: counted in the summary only


def test_summary_counts_every_listed_unit_by_active_state(rootfs):
    fams = make(rootfs).collect()
    got = {s.label_dict["state"]: s.value for s in find_samples(fams, "node_systemd_units")}
    assert got == {"active": 12, "activating": 1, "deactivating": 0, "inactive": 2, "failed": 1}


def test_sub_state_restarts_and_start_time(rootfs):
    fams = make(rootfs).collect()
    assert one(fams, "autobot_systemd_unit_sub_state", name="autobot-agent.service",
               sub_state="auto-restart") == 1
    assert one(fams, "autobot_systemd_unit_sub_state", name="nginx.service",
               sub_state="failed") == 1
    assert one(fams, "node_systemd_service_restart_total", name="autobot-agent.service") == 7
    restart = next(f for f in fams if f.name == "node_systemd_service_restart_total")
    assert restart.type == "counter"
    # 2026-12-08 01:02:03 UTC
    assert one(fams, "node_systemd_unit_start_time_seconds", name="redis-server.service") \
        == 1796691723
    started = {s.label_dict["name"] for s in find_samples(fams, "node_systemd_unit_start_time_seconds")}
    # only active units: not the failed nginx, the activating agent or the inactive apt-daily
    assert started == {"cron.service", "dbus.service", "redis-server.service",
                       "systemd-tmpfiles-setup.service"}


def test_manager_properties(rootfs):
    fams = make(rootfs).collect()
    assert one(fams, "node_systemd_system_running") == 0  # degraded
    assert one(fams, "node_systemd_version", version="252.38-1~deb12u1") == 252.38
    assert one(fams, "node_systemd_virtualization_info", virtualization_type="kvm") == 1


def test_include_and_exclude_are_full_re2_matches(rootfs):
    fams = make(rootfs, unit_include=r".+\.(service|socket|timer)",
                unit_exclude=r"apt-.*|redis").collect()
    names = unit_names(fams)
    assert {"ssh.socket", "cron.service", "redis-server.service"} <= names
    assert not {"apt-daily.service", "apt-daily.timer", "user.slice"} & names
    # a socket has no service type
    assert one(fams, "node_systemd_unit_state", name="ssh.socket", state="active", type="") == 1


def test_garbage_and_truncated_output_yield_fewer_samples(rootfs):
    listing = (FIX / "list-units.txt").read_text()
    cut = listing[: listing.index("redis-server.service") + 12]  # last line cut mid-word

    def run(argv, timeout):
        if "list-units" in argv:
            return CommandResult("ok", 0, "\x00garbage ☃\nFailed to list units: oops\n" + cut)
        if any(a.startswith("--property=Id") for a in argv):
            return CommandResult("ok", 0, "Type\nNRestarts=lots\nId=cron.service\n"
                                          "ActiveEnterTimestamp=yesterday-ish\n\n=\n")
        return CommandResult("ok", 0, "no equals sign here\n")

    fams = make(rootfs, run=run).collect()
    assert "redis-server.service" not in unit_names(fams)
    assert one(fams, "node_systemd_unit_state", name="cron.service", state="active", type="") == 1
    assert find_samples(fams, "node_systemd_service_restart_total") == []
    assert find_samples(fams, "node_systemd_unit_start_time_seconds") == []
    assert find_samples(fams, "node_systemd_system_running") == []


def test_a_failing_show_keeps_the_states_without_details(rootfs):
    def run(argv, timeout):
        if any(a.startswith("--property=Id") for a in argv):
            return CommandResult("ok", 1, "")
        return recorded(argv, timeout)

    fams = make(rootfs, run=run).collect()
    assert one(fams, "node_systemd_unit_state", name="nginx.service", state="failed",
               type="") == 1
    assert find_samples(fams, "node_systemd_service_restart_total") == []


def test_no_manager_emits_nothing_and_logs_once(rootfs, caplog):
    calls = []

    def run(argv, timeout):
        calls.append(argv)
        return CommandResult("ok", 1, "")  # "Failed to connect to bus: Host is down"

    c = make(rootfs, run=run)
    with caplog.at_level(logging.DEBUG, logger="autobot_monitor.collectors.systemd"):
        assert c.collect() == [] and c.collect() == []
    assert len([r for r in caplog.records if "emitting nothing" in r.message]) == 1
    assert len(calls) == 2  # one manager call per cycle, nothing after it


def test_not_booted_with_systemd_runs_nothing(tmp_path):
    calls = []
    c = SystemdCollector(CollectorContext(rootfs=str(tmp_path)),
                         run=lambda argv, t: calls.append(argv) or recorded(argv, t))
    assert c.collect() == []
    assert calls == []


def test_this_machine_is_not_booted_with_systemd():
    assert not os.path.isdir("/run/systemd/system"), "test assumes PID 1 is not systemd"
    c = collector_class("systemd")(CollectorContext())
    assert c.collect() == []


def test_timestamp_forms():
    assert parse_timestamp("Tue 2026-12-08 01:02:03 UTC") == 1796691723
    assert parse_timestamp("Tue 2026-12-08 01:02:03.123456 UTC") == 1796691723
    assert parse_timestamp("@1796691723") == 1796691723
    for bad in ("", "n/a", "@0", "@x", "Tue 2026-12-08 01:02:03 CET", "Tue 2026-13-45 99:99:99 UTC"):
        assert parse_timestamp(bad) is None


def test_list_units_skips_marks_and_non_units():
    units = parse_list_units("● a.service not-found inactive dead a.service\n"
                             "x loaded active running\nb.timer loaded active\n"
                             "a.service loaded active running dup\n")
    assert units == [{"name": "a.service", "load": "not-found", "active": "inactive",
                      "sub": "dead"}]


# --- the real subprocess path: a fake systemctl on PATH ---------------------------------------

def fake_systemctl(bindir: Path, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    script = bindir / "systemctl"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_replay_through_a_fake_systemctl_on_path(rootfs, tmp_path, monkeypatch):
    fake_systemctl(tmp_path / "bin", f"""
case "$*" in
  list-units*) cat '{FIX}/list-units.txt' ;;
  *--property=Id*) cat '{FIX}/show-units.txt' ;;
  show*) cat '{FIX}/manager.txt' ;;
  *) exit 1 ;;
esac
""")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    c = SystemdCollector(CollectorContext(rootfs=str(rootfs)))
    fams = c.collect()
    assert one(fams, "node_systemd_unit_state", name="nginx.service", state="failed",
               type="forking") == 1
    assert one(fams, "node_systemd_service_restart_total", name="redis-server.service") == 2


def test_systemctl_missing_emits_nothing(rootfs, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert SystemdCollector(CollectorContext(rootfs=str(rootfs))).collect() == []


def test_a_hanging_systemctl_is_killed_and_fails_the_cycle(rootfs, tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    fake_systemctl(tmp_path / "bin", f"echo $$ > '{pidfile}'\nexec sleep 60\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    c = SystemdCollector(CollectorContext(rootfs=str(rootfs),
                                          options={"systemd": {"timeout": 0.5}}))
    with pytest.raises(CollectorError, match="timeout"):
        c.collect()
    pid = int(pidfile.read_text())
    wait_until(lambda: not pid_alive(pid), 10, 0.02, "the hung systemctl to be killed")


def test_every_emitted_family_is_declared(rootfs):
    specs = {s.name: s for s in SystemdCollector.SPECS}
    fams = make(rootfs).collect()
    assert {f.name for f in fams} == set(specs)  # the recording exercises every family
    for f in fams:
        spec = specs[f.name]
        assert (f.type, f.help, f.unit) == (spec.type, spec.help, spec.unit)
        assert all({k for k, _ in s.labels} == set(spec.labels) for s in f.samples)


def test_replay_of_a_real_systemd_252_recording(rootfs):
    real = FIX / "real-user-manager"

    def run(argv, timeout):
        name = ("list-units" if "list-units" in argv else
                "show-units" if any(a.startswith("--property=Id") for a in argv) else "manager")
        return CommandResult("ok", 0, (real / f"{name}.txt").read_text())

    fams = make(rootfs, run=run).collect()
    assert one(fams, "node_systemd_unit_state", name="ab-failing.service", state="failed",
               type="simple") == 1
    assert one(fams, "node_systemd_unit_state", name="ab-starting.service", state="activating",
               type="oneshot") == 1
    assert one(fams, "autobot_systemd_unit_sub_state", name="ab-starting.service",
               sub_state="start") == 1
    assert one(fams, "node_systemd_service_restart_total", name="ab-flaky.service") == 17
    assert one(fams, "node_systemd_unit_start_time_seconds", name="ab-running.service") \
        == parse_timestamp("Tue 2026-12-08 01:54:37 UTC")
    assert "ab-missing.service" not in unit_names(fams)
    got = {s.label_dict["state"]: s.value for s in samples(fams, "node_systemd_units")}
    assert got == {"active": 20, "activating": 2, "deactivating": 0, "inactive": 8, "failed": 1}
    assert one(fams, "node_systemd_system_running") == 0
    assert one(fams, "node_systemd_virtualization_info", virtualization_type="docker") == 1
