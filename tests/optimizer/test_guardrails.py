"""Guardrails with a controllable clock: the hourly limit is a sliding 3600 s window across
cycles and restarts, the severity threshold and auto switch hold, cooldowns apply per target,
and a restart storm ends with a give-up (plus an alert) after N restarts within M cycles."""

from __future__ import annotations

import asyncio

from optsupport import cfg, optimizer_over

from autobot_monitor.alerts.service import AlertService
from autobot_monitor.optimizer.guardrails import Guardrails, OptimizerState
from autobot_monitor.optimizer.model import ActionRef, Recommendation


def rec(target="t1", severity="high", auto=True, type_="disk_cleanup"):
    return Recommendation("disk", "k", severity, "box", target, "title",
                          {"metric": "m", "values": {"v": 1.0}}, "effect",
                          ActionRef(type_, target, "box"), auto)


C = cfg("auto_optimization_enabled: true\nmax_optimizations_per_hour: 3\n"
        "optimizer: {cooldown: 0s}")


def test_hourly_limit_is_a_sliding_window_across_cycles_and_restarts(tmp_path, clock):
    path = str(tmp_path / "state.json")
    g = Guardrails(OptimizerState(path), clock)
    for i in range(3):  # t = 0, 10, 20 min, each in its own cycle
        g.new_cycle(C)
        assert g.check(rec(f"t{i}"), C, "auto").allowed
        g.record(rec(f"t{i}"))
        clock.advance(600)
    g.new_cycle(C)
    d = g.check(rec("t9"), C, "auto")
    assert not d.allowed and "hourly limit: 3" in d.reason
    g.state.save()
    # a restart must not reset the window
    g2 = Guardrails(OptimizerState(path), clock)
    g2.new_cycle(C)
    assert not g2.check(rec("t9"), C, "auto").allowed
    clock.advance(3600 - 1800 + 1)  # now 60 min + 1 s after the first action: it fell out
    g2.new_cycle(C)
    assert g2.actions_last_hour() == 2
    assert g2.check(rec("t9"), C, "auto").allowed
    # manual applies count and are limited too
    g2.record(rec("t9"))
    assert "hourly limit" in g2.check(rec("t8"), C, "manual").reason


def test_severity_threshold_auto_switch_and_advice(tmp_path, clock):
    g = Guardrails(OptimizerState(None), clock)
    high = cfg("auto_optimization_enabled: true\noptimization_severity_threshold: high")
    d = g.check(rec(severity="medium"), high, "auto")
    assert not d.allowed and "below optimization_severity_threshold high" in d.reason
    assert not g.check(rec(severity="medium"), high, "cli").allowed
    assert g.check(rec(severity="medium"), high, "manual").allowed  # explicit apply by id
    assert g.check(rec(severity="critical"), high, "auto").allowed
    off = cfg("auto_optimization_enabled: false")
    assert "auto_optimization_enabled is false" in g.check(rec(), off, "auto").reason
    assert g.check(rec(), off, "cli").allowed
    assert "not auto-applicable" in g.check(rec(auto=False), high, "auto").reason
    advice = Recommendation("cpu", "k", "critical", "box", "x", "t", {"values": {"v": 1}}, "e")
    assert "advice only" in g.check(advice, high, "manual").reason


def test_cooldown_per_target_and_one_action_per_target(clock):
    c = cfg("max_optimizations_per_hour: 60\noptimizer: {cooldown: 10m}")
    g = Guardrails(OptimizerState(None), clock)
    g.record(rec("a"))
    clock.advance(300)
    assert "cooldown" in g.check(rec("a"), c, "manual").reason
    assert g.check(rec("b"), c, "manual").allowed  # another target is free
    clock.advance(301)
    assert g.check(rec("a"), c, "manual").allowed
    g.running.add(rec("a").action.key)
    assert "is running" in g.check(rec("a"), c, "manual").reason


async def test_restart_storm_gives_up_after_n_in_m_cycles_and_alerts(tmp_path, clock):
    """A service that stays down: its restart command 'succeeds' but the service never comes up.
    Two restarts within three cycles, then the optimizer gives up, raises OptimizerGaveUp and
    exposes autobot_optimizer_restart_given_up; the hold lifts once the service is seen up."""
    marker = tmp_path / "restarts"
    script = tmp_path / "restart.sh"
    script.write_text(f"#!/bin/sh\necho x >> {marker}\n")
    script.chmod(0o755)
    c = cfg(f"""
auto_optimization_enabled: true
max_optimizations_per_hour: 60
services: [{{name: web, type: tcp, address: "127.0.0.1:9", timeout: 1}}]
optimizer:
  cooldown: 0s
  restart_limit: {{max_restarts: 2, within_cycles: 3}}
  services: [{{service: web, command: [{script}], grace: 0s}}]
""")
    alerts = AlertService([], c.alerting, clock)
    alerts.start()
    services = {"web": {"name": "web", "type": "tcp", "host": None, "up": False,
                        "error": "connection refused", "checked_at": clock.time()}}
    opt = optimizer_over(c, tmp_path, clock, services=services, alerts=alerts)
    decisions = []
    for _ in range(5):
        rep = await opt.run_cycle("auto")
        item = next(r for r in rep["recommendations"] if r["kind"] == "service_down")
        decisions.append(item["decision"])
        clock.advance(60)
    assert [d["applied"] for d in decisions] == [True, True, False, False, False]
    assert "gave up on web" in decisions[2]["reason"] and decisions[2]["gave_up"]
    assert marker.read_text().count("x") == 2
    fams = {f.name: f for f in opt.families()}
    assert fams["autobot_optimizer_restart_given_up"].samples[0].labels == (("service", "web"),)
    firing = alerts.engine.active("firing")
    assert [a.rule for a in firing] == ["OptimizerGaveUp"] and firing[0].labels["service"] == "web"
    # the hold survives a restart of the optimizer, and lifts once the service is seen up
    opt2 = optimizer_over(c, tmp_path, clock, services=services, alerts=alerts)
    assert "web" in opt2.state.given_up
    services["web"]["up"] = True
    await opt2.run_cycle("auto")
    assert opt2.state.given_up == {} and alerts.engine.active("firing") == []
    await alerts.aclose()
    await asyncio.sleep(0)
