"""Actions for real, on targets the test owns: a temp tree with symlinks pointing outside and
'..' names, a child process of its own name, a small service restarted through a configured argv
list, and a redis-server of its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optsupport import cfg

from autobot_monitor.clock import FakeClock
from autobot_monitor.errors import OptimizerError
from autobot_monitor.optimizer.actions import build_action
from autobot_monitor.optimizer.model import ActionRef
from support import RedisServer, free_port, wait_until

DAY = 86400


def _file(path, size, age_days):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = time.time() - age_days * DAY
    os.utime(path, (t, t), follow_symlinks=False)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    old = [_file(root / "a.tmp", 100, 10), _file(root / "sub" / "b.tmp", 200, 30),
           _file(root / "..hidden.tmp", 50, 10), _file(root / "..." / "c.log.1", 25, 9)]
    keep = [_file(root / "new.tmp", 100, 1), _file(root / "old.txt", 100, 30)]
    victims = [_file(outside / "precious.tmp", 10, 30), _file(outside / "d" / "deep.tmp", 10, 30)]
    os.symlink(outside / "precious.tmp", root / "link.tmp")  # symlink to an old matching file
    os.symlink(outside / "d", root / "linkdir")  # symlinked directory with old matching files
    os.symlink("../outside/precious.tmp", root / "sub" / "rel.tmp")
    return root, old, keep, victims


def test_disk_cleanup_removes_only_old_matching_files_inside_the_root(tree):
    root, old, keep, victims = tree
    c = cfg(f"optimizer: {{cleanup: [{{path: '{root}', globs: ['*.tmp', '*.log.[0-9]*'], older_than_days: 7}}]}}")
    action = build_action(ActionRef("disk_cleanup", str(root), "box"), c, "box", FakeClock(wall=time.time()))
    plan = action.plan()
    assert plan[0].endswith("4 file(s), 375 bytes")
    assert sorted(p.removeprefix("remove ") for p in plan[1:]) == sorted(str(p) for p in old)
    assert all(p.exists() for p in old)  # the dry run changed nothing
    import asyncio

    res = asyncio.run(action.apply())
    assert res.ok and res.details["files"] == 4 and res.measured["bytes_removed"] == 375
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in keep + victims)
    assert os.path.islink(root / "link.tmp") and os.path.islink(root / "linkdir")
    assert res.measured["fs_free_bytes_before"] is not None


def test_cleanup_refuses_a_symlinked_root_and_unconfigured_paths(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    _file(real / "x.tmp", 10, 30)
    c = cfg(f"optimizer: {{cleanup: [{{path: '{tmp_path / 'alias'}', globs: ['*.tmp']}}]}}")
    os.symlink(real, tmp_path / "alias")  # after the config check, which refuses it (see guard tests)
    a = build_action(ActionRef("disk_cleanup", str(tmp_path / "alias"), "box"), c, "box", FakeClock())
    with pytest.raises(OptimizerError, match="not a directory"):
        a.plan()
    with pytest.raises(OptimizerError, match="not a configured optimizer.cleanup path"):
        build_action(ActionRef("disk_cleanup", "/etc", "box"), c, "box", FakeClock())
    with pytest.raises(OptimizerError, match="not in the allowlist"):
        build_action(ActionRef("rm_rf", "/", "box"), c, "box", FakeClock())
    with pytest.raises(OptimizerError, match="hub's own host only"):
        build_action(ActionRef("disk_cleanup", str(tmp_path / "alias"), "other"), c, "box", FakeClock())


@pytest.fixture
def child(tmp_path):
    """A sleeping child with a name unique to this test (so nobody else's process matches)."""
    name = f"abt{os.getpid() % 100000}s"
    exe = tmp_path / name
    shutil.copy("/bin/sleep", exe)
    p = subprocess.Popen([str(exe), "60"])
    wait_until(lambda: open(f"/proc/{p.pid}/comm").read().strip() == name, 5, 0.02, "child comm")
    yield name, p
    p.kill()
    p.wait()


async def test_renice_and_affinity_on_a_child_and_undo(child):
    name, p = child
    ncpu = os.cpu_count() or 1
    cpus = [0] if ncpu > 1 else [0]
    c = cfg(f"optimizer: {{processes: [{{name: {name}, nice: 7, cpus: {cpus}}}]}}")
    before_nice = os.getpriority(os.PRIO_PROCESS, p.pid)
    before_aff = os.sched_getaffinity(p.pid)
    renice = build_action(ActionRef("renice", name, "box"), c, "box", FakeClock())
    assert renice.plan() == [f"nice of pid {p.pid} ({name}): {before_nice} -> 7 (previous value recorded for undo)"]
    assert os.getpriority(os.PRIO_PROCESS, p.pid) == before_nice  # plan changed nothing
    r = await renice.apply()
    assert r.ok and os.getpriority(os.PRIO_PROCESS, p.pid) == 7
    assert r.undo_state["pids"][str(p.pid)]["old"] == before_nice
    aff = build_action(ActionRef("cpu_affinity", name, "box"), c, "box", FakeClock())
    r2 = await aff.apply()
    assert r2.ok and os.sched_getaffinity(p.pid) == set(cpus)
    u = await renice.undo(r.undo_state)
    assert u.ok and os.getpriority(os.PRIO_PROCESS, p.pid) == before_nice
    u2 = await aff.undo(r2.undo_state)
    assert u2.ok and os.sched_getaffinity(p.pid) == before_aff


async def test_restart_through_configured_argv_then_health_check(tmp_path):
    """The 'service' is a python http.server the restart script starts; down before, up after."""
    port = free_port()
    pidfile = tmp_path / "svc.pid"
    script = tmp_path / "restart-web"
    script.write_text(f"#!/bin/sh\n{sys.executable} -m http.server {port} --bind 127.0.0.1 "
                      f"--directory {tmp_path} >/dev/null 2>&1 &\necho $! > {pidfile}\n")
    script.chmod(0o755)
    c = cfg(f"""
services: [{{name: web, type: http, url: "http://127.0.0.1:{port}/", timeout: 2}}]
optimizer: {{services: [{{service: web, command: [{script}], grace: 1.5s}}]}}
""")
    action = build_action(ActionRef("restart_service", "web", None), c, "box", FakeClock())
    assert action.plan()[0] == f"run {script} (no shell, timeout 60s)"
    try:
        res = await action.apply()
        assert res.ok, res.summary
        assert res.measured["up_before"] is False and res.measured["up_after"] is True
        assert res.details["returncode"] == 0
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
    # the default manager is systemd: plan shows the exact argv, never a shell string
    c2 = cfg(f"""
services: [{{name: web, type: http, url: "http://127.0.0.1:{port}/"}}]
optimizer: {{services: [{{service: web, unit: "web@1.service"}}]}}
""")
    a2 = build_action(ActionRef("restart_service", "web", None), c2, "box", FakeClock())
    assert a2.plan()[0] == "run systemctl restart web@1.service (no shell, timeout 60s)"


async def test_redis_memory_purge_on_a_real_server():
    srv = RedisServer()
    try:
        c = cfg(f'services: [{{name: cache, type: redis, address: "{srv.address}"}}]')
        a = build_action(ActionRef("redis_memory_purge", "cache", None), c, "box", FakeClock())
        assert "MEMORY PURGE" in a.plan()
        res = await a.apply()
        assert res.ok, res.summary
        assert res.details["reply"] in ("True", "OK")
        assert res.measured["used_memory_rss_before"] > 0 and res.measured["used_memory_rss_after"] > 0
        off = cfg(f'services: [{{name: cache, type: redis, address: "{srv.address}"}}]\n'
                  "optimizer: {redis_memory_purge: false}")
        with pytest.raises(OptimizerError):
            build_action(ActionRef("redis_memory_purge", "cache", None), off, "box", FakeClock())
    finally:
        srv.stop()


def test_restart_returns_at_command_exit_even_if_a_daemon_keeps_its_output(tmp_path):
    """The hub runs on uvloop; a restart command that leaves a child holding its stdout must not
    hang until the timeout (waited for the exit, output to a file)."""
    uvloop = pytest.importorskip("uvloop")
    from support import HttpServer

    svc = HttpServer()
    pidfile = tmp_path / "daemon.pid"
    script = tmp_path / "restart-daemon"
    script.write_text(f"#!/bin/sh\necho starting\nsleep 20 &\necho $! > {pidfile}\n")
    script.chmod(0o755)
    c = cfg(f"""
services: [{{name: web, type: http, url: "{svc.url('/')}", timeout: 2}}]
optimizer: {{services: [{{service: web, command: [{script}], grace: 0s, timeout: 30s}}]}}
""")
    try:
        res = uvloop.run(build_action(ActionRef("restart_service", "web", None), c, "box",
                                      FakeClock()).apply())
        assert res.ok, res.summary
        assert res.details["returncode"] == 0 and res.details["output_tail"] == "starting\n"
        # returned while the daemon (20 s, inside the 30 s timeout) still holds the output
        state = (Path("/proc") / pidfile.read_text().strip() / "stat").read_text().split(") ")[1][0]
        assert state != "Z", "the restart waited for the daemon to exit"
    finally:
        svc.stop()
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
