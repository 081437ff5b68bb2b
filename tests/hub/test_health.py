"""The explained health score: formula terms, bands, and the caps that keep a firing critical
alert or a down host/service from ever showing green (boundary cases)."""

import pytest

from autobot_monitor.alerts.config import RuleConfig
from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.clock import FakeClock
from autobot_monitor.config.models import AlertThresholds
from autobot_monitor.hub.health import band, health
from autobot_monitor.hub.snapshot import HostState, alert_json

T = AlertThresholds()


def host(name="h1", up=True, cpu=10.0, mem=10.0, disk=10.0, priority="high"):
    h = HostState(name, "r", priority, None, up=up)
    h.summary = {"cpu_percent": cpu, "memory": {"used_percent": mem}, "disk_used_percent_max": disk}
    return h


def svc(up=True):
    return {"up": up}


def alert(state="firing", severity="critical"):
    return {"state": state, "severity": severity}


@pytest.mark.parametrize(("score", "expected"), [
    (None, "unknown"), (100.0, "green"), (90.0, "green"), (89.9, "yellow"), (70.0, "yellow"),
    (69.9, "red"), (0.0, "red")])
def test_band_boundaries(score, expected):
    assert band(score) == expected


def test_all_well_is_100_green_with_zero_penalties():
    h = health({"h1": host()}, {"s": svc()}, T)
    assert h["score"] == 100.0 and h["band"] == "green"
    assert [(t["name"], t["weight"], t["value"], t["penalty"]) for t in h["terms"]] == [
        ("hosts_up", 40.0, 1.0, 0.0), ("services_up", 40.0, 1.0, 0.0), ("headroom", 20.0, 1.0, 0.0)]


def test_penalties_add_up_to_what_the_score_lost():
    # the measured case: CPU at 100 % on the only host, 1 of 3 figures over -> 20/3 points
    h = health({"h1": host(cpu=100.0)}, {"s": svc()}, T)
    assert h["score"] == 93.3 and h["band"] == "green"
    assert round(100 - sum(t["penalty"] for t in h["terms"]), 1) == h["score"]
    head = next(t for t in h["terms"] if t["name"] == "headroom")
    assert head["penalty"] == 6.7 and "CPU 100% on h1" in head["detail"]


def test_threshold_itself_is_headroom():
    assert health({"h1": host(cpu=T.cpu_percent)}, {}, T)["score"] == 100.0


def test_firing_critical_alert_caps_at_red_pending_does_not():
    hosts = {"h1": host(cpu=100.0)}
    h = health(hosts, {"s": svc()}, T, [alert("firing", "critical")])
    assert h["score"] == 69.9 and h["band"] == "red"
    cap = h["terms"][-1]
    assert cap["name"] == "critical_alerts" and cap["value"] == 1 and cap["penalty"] == 23.4
    assert health(hosts, {"s": svc()}, T, [alert("pending", "critical")])["band"] == "green"


def test_firing_high_alert_is_never_green():
    h = health({"h1": host()}, {}, T, [alert("firing", "high")])
    assert h["score"] == 89.9 and h["band"] == "yellow"
    assert health({"h1": host()}, {}, T, [alert("firing", "medium")])["band"] == "green"


def test_a_down_service_among_many_is_never_green():
    services = {f"s{i}": svc() for i in range(99)} | {"down": svc(up=False)}
    hosts = {f"h{i}": host(f"h{i}") for i in range(10)}
    h = health(hosts, services, T)
    assert h["band"] == "yellow" and h["score"] == 89.9  # 99.6 before the cap
    assert h["terms"][-1]["name"] == "down" and h["terms"][-1]["penalty"] == 9.7
    assert round(100 - sum(t["penalty"] for t in h["terms"]), 1) == 89.9


def test_a_down_low_priority_host_is_never_green():
    hosts = {f"h{i}": host(f"h{i}", priority="critical") for i in range(20)}
    hosts["lab"] = host("lab", up=False, priority="low")
    h = health(hosts, {}, T)
    assert h["band"] == "yellow"


def test_a_cap_above_the_score_changes_nothing():
    h = health({"h1": host(), "h2": host("h2", up=False)}, {}, T, [alert("firing", "high")])
    assert h["score"] < 70 and not [t for t in h["terms"] if t["weight"] is None]


def test_nothing_measured_is_null_not_zero():
    assert health({}, {}, T) == {"score": None, "band": "unknown", "terms": []}


def test_real_engine_alert_firing_turns_the_score_red():
    """A critical rule fired by the engine (fake clock) caps the score through the API's view."""
    clock = FakeClock()
    eng = AlertEngine(clock)
    r = RuleConfig.model_validate({"name": "Hot", "metric": "m", "op": ">", "threshold": 1,
                                   "for": 10, "severity": "critical"})
    hosts = {"h1": host()}
    for expected in ("green", "green", "red"):  # pending, pending, firing after 10 s
        eng.evaluate(r, [({"host": "h1"}, 5.0)])
        assert health(hosts, {}, T, [alert_json(a) for a in eng.active()])["band"] == expected
        clock.advance(5)
