"""Measured effect from the store (before vs after the settle time), undo of a reversible action
that made things worse, 'not measurable' without data, and a consistent audit log after a crash
in the middle of an action."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from optsupport import cfg, optimizer_over

from autobot_monitor.optimizer.model import ActionRef, Recommendation
from autobot_monitor.store import Series, open_store
from support import wait_until


@pytest.fixture
def child(tmp_path):
    name = f"abe{os.getpid() % 100000}s"
    exe = tmp_path / name
    shutil.copy("/bin/sleep", exe)
    p = subprocess.Popen([str(exe), "60"])
    wait_until(lambda: open(f"/proc/{p.pid}/comm").read().strip() == name, 5, 0.02, "child comm")
    yield name, p
    p.kill()
    p.wait()


def write_cpu(store, start, n, value, step=10.0):
    store.write([Series("autobot_cpu_busy_percent", {"cpu": "all", "host": "box"},
                        [(start + i * step, value) for i in range(n)], "gauge")])


def cpu_rec(name):
    return Recommendation("cpu", "cpu_saturated", "high", "box", "cpu", "CPU busy",
                          {"metric": "autobot_cpu_busy_percent", "values": {"avg_percent": 90.0}},
                          "lower", ActionRef("renice", name, "box"), True, "restore",
                          "autobot_cpu_busy_percent", {"host": "box", "cpu": "all"})


async def test_worse_after_renice_is_measured_and_undone(tmp_path, clock, child):
    name, p = child
    c = cfg(f"max_optimizations_per_hour: 10\noptimizer: {{settle_time: 60s, measure_window: 300s, "
            f"processes: [{{name: {name}, nice: 9}}]}}")
    store = open_store(c.storage, str(tmp_path))
    try:
        opt = optimizer_over(c, tmp_path, clock, store=store)
        t0 = clock.time()
        write_cpu(store, t0 - 300, 30, 90.0)
        rec = cpu_rec(name)
        opt.recommendations = {rec.id: rec}
        res = await opt.apply(rec.id)
        assert res["decision"]["applied"] and os.getpriority(os.PRIO_PROCESS, p.pid) == 9
        assert res["result"]["effect"]["verdict"] == "pending"
        assert await opt.tick() == []  # not due yet
        write_cpu(store, t0 + 60, 30, 99.0)  # worse after the settle time
        clock.advance(361)
        (eff,) = await opt.tick()
        e = eff["effect"]
        assert e["verdict"] == "worsened" and e["before"] == 90.0 and e["after"] == 99.0
        assert abs(e["change_ratio"] - 0.1) < 1e-9
        assert eff["undo"]["ok"] and os.getpriority(os.PRIO_PROCESS, p.pid) == 0
        hist = opt.history()
        assert hist[0]["event"] == "effect" and hist[1]["effect"]["verdict"] == "worsened"
        assert ("renice", "undone") in opt.counts
        lines = [json.loads(x) for x in open(tmp_path / "logs" / "optimization.log")]
        assert [x["event"] for x in lines] == ["started", "applied", "effect"]
    finally:
        store.close()


async def test_better_is_kept_and_missing_data_is_not_measurable(tmp_path, clock, child):
    name, p = child
    c = cfg(f"max_optimizations_per_hour: 10\noptimizer: {{cooldown: 0s, settle_time: 60s, "
            f"measure_window: 300s, processes: [{{name: {name}, nice: 5}}]}}")
    store = open_store(c.storage, str(tmp_path))
    try:
        opt = optimizer_over(c, tmp_path, clock, store=store)
        t0 = clock.time()
        write_cpu(store, t0 - 300, 30, 90.0)
        rec = cpu_rec(name)
        opt.recommendations = {rec.id: rec}
        await opt.apply(rec.id)
        write_cpu(store, t0 + 60, 30, 60.0)
        clock.advance(361)
        (eff,) = await opt.tick()
        assert eff["effect"]["verdict"] == "improved" and "undo" not in eff
        assert os.getpriority(os.PRIO_PROCESS, p.pid) == 5
        await opt.apply(rec.id)  # no samples after this one
        clock.advance(361)
        (eff,) = await opt.tick()
        assert eff["effect"]["verdict"] == "not measurable" and eff["effect"]["change"] is None
    finally:
        store.close()


CRASHER = textwrap.dedent("""
    import asyncio, sys
    from autobot_monitor.clock import SYSTEM_CLOCK
    from autobot_monitor.config.loader import load_config
    from autobot_monitor.optimizer.service import OptimizerService
    import types
    cfg = load_config(sys.argv[1])
    services = {"web": {"name": "web", "type": "tcp", "host": None, "up": False, "error": "x",
                        "checked_at": 0}}
    live = types.SimpleNamespace(config=cfg, hosts={}, services=services, local_name="box")
    async def main():
        opt = OptimizerService(live, None, SYSTEM_CLOCK, sys.argv[2])
        await opt.analyze()
        (rid,) = opt.recommendations
        await opt.apply(rid)
    asyncio.run(main())
""")


def test_crash_mid_action_leaves_a_consistent_audit_log(tmp_path, clock):
    """kill -9 while the restart command runs: the log holds 'started'; the next start adds
    'interrupted', and every line parses."""
    (tmp_path / "crash.py").write_text(CRASHER)
    slow = tmp_path / "slow-restart"
    slow.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'slow.pid'}\nexec sleep 30\n")
    slow.chmod(0o755)
    (tmp_path / "c.yaml").write_text(f"""
services: [{{name: web, type: tcp, address: "127.0.0.1:9", timeout: 1}}]
optimizer: {{services: [{{service: web, command: [{slow}], grace: 0s}}]}}
""")
    log = tmp_path / "logs" / "optimization.log"
    p = subprocess.Popen([sys.executable, str(tmp_path / "crash.py"), str(tmp_path / "c.yaml"), str(tmp_path)])
    try:
        wait_until(lambda: log.exists() and '"event":"started"' in log.read_text(), 20, 0.05, "started")
        wait_until((tmp_path / "slow.pid").exists, 10, 0.05, "restart command running")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    pidf = tmp_path / "slow.pid"
    try:
        os.kill(int(pidf.read_text()), signal.SIGKILL)  # the orphaned restart command
    except (ProcessLookupError, ValueError):
        pass
    from autobot_monitor.config.loader import load_config

    opt = optimizer_over(load_config(str(tmp_path / "c.yaml")), tmp_path, clock)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["event"] for x in lines] == ["started", "interrupted"]
    assert lines[0]["action_id"] == lines[1]["action_id"]
    assert opt.state.in_flight is None and opt.history()[0]["event"] == "interrupted"
    assert len(opt.state.applied) == 1  # the attempt still counts against the hourly limit
