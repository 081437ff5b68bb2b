"""Alert lifecycle semantics on a controllable clock: for, hysteresis, keep_firing_for,
flapping, silences, acknowledgement, repeat, restart without re-notification."""

import json

import pytest

from autobot_monitor.alerts.config import RuleConfig
from autobot_monitor.alerts.engine import AlertEngine, EngineSettings, fingerprint
from autobot_monitor.alerts.text import render_template
from autobot_monitor.clock import FakeClock

H = {"host": "h1"}


def rule(**kw) -> RuleConfig:
    base = {"name": "HighCpu", "metric": "autobot_cpu_busy_percent", "op": ">", "threshold": 80,
            "severity": "high", "summary": "CPU {{ value }}% on {{ host }}"}
    base.update(kw)
    return RuleConfig.model_validate(base)


def run(eng, clock, r, seq, step=10, labels=H):
    """Feed values one per step; returns [(time offset, kinds notified, state or None)]."""
    out = []
    for v in seq:
        notes = eng.evaluate(r, [] if v is None else [(labels, v)])
        a = eng.alerts.get(fingerprint(r.name, {**labels, "alertname": r.name}))
        out.append(([n.kind for n in notes], a.state if a else None))
        clock.advance(step)
    return out


@pytest.fixture
def clock():
    return FakeClock()


def test_for_holds_pending_then_fires_once(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(**{"for": "30s"}), [90, 90, 90, 90, 90])
    assert res == [([], "pending"), ([], "pending"), ([], "pending"), (["firing"], "firing"),
                   ([], "firing")]


def test_pending_that_clears_is_never_notified(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(**{"for": "30s"}), [90, 90, 50, 50])
    assert res == [([], "pending"), ([], "pending"), ([], None), ([], None)]
    assert [h["to"] for h in eng.history] == ["pending", "inactive"]


def test_hysteresis_keeps_firing_until_the_clear_level(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(clear=70), [85, 79, 75, 71, 69, 75])
    assert [r[1] for r in res] == ["firing", "firing", "firing", "firing", None, None]
    assert res[4][0] == ["resolved"]
    assert res[5] == ([], None)  # 75 is below the threshold: no new alert


def test_without_clear_it_resolves_as_soon_as_condition_is_false(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(), [85, 79])
    assert res == [(["firing"], "firing"), (["resolved"], None)]


def test_keep_firing_for(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(keep_firing_for="25s"), [90, 50, 50, 50, 50])
    assert [r[1] for r in res] == ["firing", "firing", "firing", None, None]
    assert res[3][0] == ["resolved"]


def test_vanished_series_counts_as_cleared(clock):
    eng = AlertEngine(clock)
    res = run(eng, clock, rule(), [90, None])
    assert res == [(["firing"], "firing"), (["resolved"], None)]


def test_flapping_notifies_once_then_stays_quiet_until_stable(clock):
    eng = AlertEngine(clock, EngineSettings(flap_window=600, flap_threshold=4))
    res = run(eng, clock, rule(), [90, 50, 90, 50, 90, 50, 90, 50])
    kinds = [k for ks, _ in res for k in ks]
    assert kinds == ["firing", "resolved", "firing", "flapping"]
    # quiet for longer than the window while firing: it notifies normally again
    clock.advance(700)
    res = run(eng, clock, rule(), [90, 90], step=10)
    assert res == [(["firing"], "firing"), ([], "firing")]
    assert not eng.active()[0].flapping


def test_silence_mutes_and_expiry_restores_notification(clock):
    eng = AlertEngine(clock)
    s = eng.add_silence({"alertname": "HighCpu", "host": "~h.*"}, 30, "maintenance", "ops")
    res = run(eng, clock, rule(), [90, 90, 90, 90])  # t=0..30; silence ends at t=30
    assert [r[0] for r in res] == [[], [], [], ["firing"]]
    assert s.active(clock.time() - 40)


def test_expire_silence_and_bad_silences(clock):
    eng = AlertEngine(clock)
    s = eng.add_silence({"host": "h1"}, 3600, "", "ops")
    run(eng, clock, rule(), [90])
    eng.expire_silence(s.id)
    assert run(eng, clock, rule(), [90])[0][0] == ["firing"]
    with pytest.raises(ValueError):
        eng.add_silence({}, 10, "", "x")
    with pytest.raises(ValueError):
        eng.add_silence({"host": "~("}, 10, "", "x")


def test_repeat_interval_and_acknowledgement(clock):
    eng = AlertEngine(clock, EngineSettings(repeat_interval=30))
    res = run(eng, clock, rule(), [90, 90, 90, 90])
    assert [r[0] for r in res] == [["firing"], [], [], ["firing"]]
    fp = fingerprint("HighCpu", {**H, "alertname": "HighCpu"})
    eng.acknowledge(fp, "alice")
    res = run(eng, clock, rule(), [90] * 5)
    assert all(r[0] == [] for r in res)
    with pytest.raises(KeyError):
        eng.acknowledge("nope", "x")


def test_restart_neither_loses_firing_alerts_nor_renotifies(clock, tmp_path):
    eng = AlertEngine(clock)
    run(eng, clock, rule(), [90])
    state = json.loads(json.dumps(eng.to_state()))
    eng2 = AlertEngine(clock)
    eng2.load_state(state)
    assert [a.state for a in eng2.active()] == ["firing"]
    assert run(eng2, clock, rule(), [90, 90]) == [([], "firing"), ([], "firing")]
    assert run(eng2, clock, rule(), [10]) == [(["resolved"], None)]


def test_critical_host_raises_severity(clock):
    eng = AlertEngine(clock)
    eng.evaluate(rule(), [(H, 95)], priorities={"h1": "critical"})
    assert eng.active()[0].severity == "critical"


def test_one_alert_per_label_set(clock):
    eng = AlertEngine(clock)
    notes = eng.evaluate(rule(), [({"host": "a"}, 90), ({"host": "b"}, 91), ({"host": "c"}, 10)])
    assert sorted(n.alert.labels["host"] for n in notes) == ["a", "b"]
    assert len(eng.active()) == 2


def test_templates_substitute_text_only():
    ctx = {"value": "91.5", "labels": {"host": "<img src=x onerror=alert(1)>"}, "rule": "R"}
    assert render_template("{{ rule }}: {{ value }} on {{ host }} {{ labels.host }} {{ nope }}", ctx) == \
        "R: 91.5 on <img src=x onerror=alert(1)> <img src=x onerror=alert(1)> ?"


def test_less_than_rule_with_clear(clock):
    eng = AlertEngine(clock)
    r = rule(name="LowFree", op="<", threshold=10, clear=20)
    res = run(eng, clock, r, [5, 15, 21])
    assert [x[1] for x in res] == ["firing", "firing", None]


def test_wall_clock_steps_neither_fire_pending_nor_resolve_held_alerts(clock):
    """``for`` and ``keep_firing_for`` are durations: a wall clock a day ahead (then back) must
    not fire a pending alert nor end a keep_firing_for early."""
    eng = AlertEngine(clock)
    r = rule(**{"for": "60s"})
    fp = fingerprint(r.name, {**H, "alertname": r.name})
    eng.evaluate(r, [(H, 90)])
    clock.advance(10)
    clock.set_wall(clock.time() + 86400)  # forward a day
    assert eng.evaluate(r, [(H, 90)]) == [] and eng.alerts[fp].state == "pending"
    clock.set_wall(clock.time() - 86400)  # and back
    clock.advance(50)
    assert [n.kind for n in eng.evaluate(r, [(H, 90)])] == ["firing"]
    k = rule(name="Held", **{"keep_firing_for": "5m"})
    fk = fingerprint(k.name, {**H, "alertname": k.name})
    eng.evaluate(k, [(H, 90)])
    clock.advance(10)
    clock.set_wall(clock.time() + 86400)
    notes = eng.evaluate(k, [(H, 10)])
    assert "resolved" not in [n.kind for n in notes] and eng.alerts[fk].state == "firing"


def test_silence_history_deleted_vs_expired(clock):
    eng = AlertEngine(clock)
    gone = eng.add_silence({"host": "h1"}, 3600, "", "ops")
    runs_out = eng.add_silence({"host": "h2"}, 60, "", "ops")
    clock.advance(10)
    eng.expire_silence(gone.id, "alice")
    eng.prune()
    ends = [h for h in eng.history if h["to"] in ("silence_deleted", "silence_expired")]
    assert ends == [{"time": clock.time(), "silence": gone.id, "to": "silence_deleted", "by": "alice"}]
    clock.advance(100)
    eng.prune()
    eng.prune()  # recorded once
    eng.expire_silence(runs_out.id, "bob")  # already over: no deletion recorded
    ends = [(h["silence"], h["to"]) for h in eng.history if h["to"] != "silence_created"]
    assert ends == [(gone.id, "silence_deleted"), (runs_out.id, "silence_expired")]
    assert [h["time"] for h in eng.history if h["to"] == "silence_expired"] == [runs_out.ends_at]
