"""systemd collector against a real systemd: a ``systemd --user`` manager started for the test
(PID 1 here is not systemd, so the manager runs in a private mount namespace where
``/run/systemd/system`` exists, which it checks at start), with units that fail, restart, stay
activating and want a missing unit; the collector asks it with ``systemctl --user`` (scope
``user``) through the real subprocess path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.systemd import SystemdCollector
from autobot_monitor.model import find_samples
from support import pid_alive, wait_until

SYSTEMD = "/lib/systemd/systemd"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace"),
    pytest.mark.skipif(not (os.path.exists(SYSTEMD) and shutil.which("unshare")
                            and shutil.which("systemctl")), reason="needs systemd and unshare"),
    pytest.mark.timeout(120),
]

UNITS = {
    "ab-failing.service": "[Service]\nType=simple\nExecStart=/bin/false\n",
    "ab-flaky.service": ("[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=simple\n"
                         "ExecStart=/bin/sh -c 'sleep 0.2; exit 1'\nRestart=always\nRestartSec=0.2\n"),
    "ab-starting.service": ("[Service]\nType=oneshot\nExecStart=/bin/sleep 300\n"
                            "TimeoutStartSec=infinity\n"),
    "ab-running.service": ("[Unit]\nWants=ab-missing.service\n[Service]\nType=exec\n"
                           "ExecStart=/bin/sleep 300\n"),
}
START = """set -e
mkdir -p /run/systemd
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/system
"$0" --user >/dev/null 2>&1 &
echo $! > "$1"
"""


@pytest.fixture
def user_manager(tmp_path: Path, monkeypatch):
    """A running ``systemd --user`` with :data:`UNITS` installed; yields ``systemctl --user``'s
    environment. Stopped (``systemctl --user exit``, then SIGKILL) afterwards."""
    runtime = Path(tempfile.mkdtemp(prefix="ab-xdg-"))  # short: the socket path is capped
    runtime.chmod(0o700)
    config = tmp_path / "config"
    (config / "systemd" / "user").mkdir(parents=True)
    for name, text in UNITS.items():
        (config / "systemd" / "user" / name).write_text(text)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(config),
           "LC_ALL": "C", "TZ": "UTC"}
    pidfile = tmp_path / "pid"
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", START, SYSTEMD,
                    str(pidfile)], env=env, check=True, timeout=30)
    pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 30, 0.05, "the manager pid"))
    try:
        wait_until(lambda: (runtime / "systemd" / "private").exists(), 30, 0.05, "the manager's socket")
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        yield env
    finally:
        subprocess.run(["systemctl", "--user", "exit"], env=env, timeout=30, check=False,
                       capture_output=True)
        try:
            wait_until(lambda: not pid_alive(pid), 15, 0.05, "the manager to exit")
        except AssertionError:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(runtime, ignore_errors=True)


def samples(fams, metric, /, **labels):
    return [s for s in find_samples(fams, metric)
            if all(s.label_dict.get(k) == v for k, v in labels.items())]


def one(fams, metric, /, **labels):
    found = samples(fams, metric, **labels)
    assert len(found) == 1, (metric, labels, found)
    return found[0].value


def test_a_real_systemd_user_manager(user_manager, tmp_path):
    ctl = ["systemctl", "--user"]
    subprocess.run([*ctl, "start", "ab-running.service", "ab-failing.service", "ab-flaky.service"],
                   env=user_manager, check=False, timeout=30, capture_output=True)
    subprocess.run([*ctl, "start", "--no-block", "ab-starting.service"], env=user_manager,
                   check=True, timeout=30)
    started = time.time()
    root = tmp_path / "root"
    (root / "run" / "systemd" / "system").mkdir(parents=True)
    c = SystemdCollector(CollectorContext(rootfs=str(root), options={
        "systemd": {"scope": "user", "unit_include": r"ab-.+\.service", "timeout": 20}}))

    def ready():
        fams = c.collect()
        restarts = samples(fams, "node_systemd_service_restart_total", name="ab-flaky.service")
        failed = samples(fams, "node_systemd_unit_state", name="ab-failing.service",
                         state="failed")
        return fams if restarts and restarts[0].value >= 2 and failed and failed[0].value else None

    fams = wait_until(ready, 30, 0.05, "ab-flaky to restart twice and ab-failing to fail")
    assert one(fams, "node_systemd_unit_state", name="ab-failing.service", state="failed",
               type="simple") == 1
    assert one(fams, "node_systemd_unit_state", name="ab-starting.service", state="activating",
               type="oneshot") == 1
    assert one(fams, "autobot_systemd_unit_sub_state", name="ab-starting.service",
               sub_state="start") == 1
    assert one(fams, "node_systemd_unit_state", name="ab-running.service", state="active",
               type="exec") == 1
    t = one(fams, "node_systemd_unit_start_time_seconds", name="ab-running.service")
    assert started - 60 <= t <= time.time() + 1  # whole seconds, in UTC
    names = {s.label_dict["name"] for s in samples(fams, "node_systemd_unit_state")}
    assert "ab-missing.service" not in names  # not-found: only counted in the summary
    assert one(fams, "node_systemd_units", state="failed") >= 1
    assert one(fams, "node_systemd_system_running") == 0  # degraded: a unit failed
    assert samples(fams, "node_systemd_version")[0].value >= 200
