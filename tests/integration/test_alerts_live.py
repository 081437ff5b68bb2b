"""Alerts on real load in a real hub: a CPU-burning process trips a low threshold, the webhook
receives the notification, operators acknowledge and silence through the API, and the alert
resolves once the process stops. A default rule (ServiceDown) fires and resolves on a real
HTTP service going away and coming back."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from support import HttpServer, HubProcess, Receiver, wait_until

pytestmark = pytest.mark.timeout(120)


def cycles(url: str) -> int:
    return httpx.get(url + "/api/system/status").json()["cycles"]


def statuses(receiver, rule):
    return [a["status"] for _, body in receiver.posts if isinstance(body, dict)
            for a in body.get("alerts", []) if a["rule"] == rule]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """One hub for the module: the burner test leaves the service up, the silence test (last)
    takes it down."""
    receiver = Receiver()
    svc = HttpServer()
    hub = HubProcess(tmp_path_factory.mktemp("alerts-live"), {
        "dashboard_enabled": False, "local_host": {"name": "box"},
        "collectors": {"processes": {"scan_interval": 1}, "disabled": ["gpu", "npu", "sensors"]},
        "services": [{"name": "web", "type": "http", "url": svc.url("/"), "timeout": 1}],
        "rules": [{"name": "BurnerHot", "metric": "autobot_process_cpu_percent",
                   "match": {"name": "sha256sum"}, "threshold": 10, "clear": 2, "for": "1s",
                   "severity": "high", "category": "cpu",
                   "summary": "{{ name }} uses {{ value }}% CPU on {{ host }}"}],
        "alerting": {"channels": [{"name": "hook", "type": "webhook",
                                   "url": f"{receiver.url}/hook"}]}})
    try:
        hub.wait_cycles(2)
        yield hub.url, receiver, svc, hub
    finally:  # also when setup fails
        hub.stop()
        receiver.stop()


def test_cpu_burner_fires_acks_and_resolves(hub):
    url, receiver, _, proc = hub
    burner = subprocess.Popen(["sha256sum", "/dev/zero"])
    try:
        wait_until(lambda: "firing" in statuses(receiver, "BurnerHot"), 30, 0.2, "firing webhook")
        alerts = httpx.get(url + "/api/alerts", params={"state": "firing"}).json()["alerts"]
        a = next(a for a in alerts if a["rule"] == "BurnerHot")
        assert a["labels"]["name"] == "sha256sum" and a["labels"]["host"] == "box"
        assert a["severity"] in ("high", "critical") and a["value"] > 2
        assert "sha256sum uses" in a["summary"]
        r = httpx.post(f"{url}/api/alerts/{a['fingerprint']}/ack", json={"by": "tester"})
        assert r.status_code == 200 and r.json()["acknowledged_by"] == "tester"
        assert httpx.post(f"{url}/api/alerts/nope/ack", json={}).status_code == 404
    finally:
        burner.kill()
        burner.wait()
    wait_until(lambda: "resolved" in statuses(receiver, "BurnerHot"), 30, 0.2, "resolved webhook")
    assert statuses(receiver, "BurnerHot").count("firing") == 1
    hist = httpx.get(url + "/api/alerts/history", params={"limit": 1000}).json()["transitions"]
    tos = [h["to"] for h in hist[::-1] if h.get("rule") == "BurnerHot"]
    assert tos[:4] == ["pending", "firing", "acknowledged", "resolved"]
    text = httpx.get(url + "/metrics").text
    assert 'autobot_performance_alerts_total{category="cpu",' in text


def test_default_service_down_rule_with_silence(hub):
    url, receiver, svc, _ = hub
    s = httpx.post(url + "/api/silences", json={"matchers": {"alertname": "ServiceDown"},
                                                "duration": "1h", "comment": "planned", "created_by": "t"})
    assert s.status_code == 201
    assert httpx.post(url + "/api/silences", json={"matchers": {}}).status_code == 400
    assert httpx.post(url + "/api/silences", json={"matchers": {"a": "~("}}).status_code == 400
    svc.stop()
    wait_until(lambda: any(a["rule"] == "ServiceDown" and a["state"] == "firing"
                           and a["silenced_by"] == s.json()["id"]
                           for a in httpx.get(url + "/api/alerts").json()["alerts"]), 30, 0.2,
               "firing, silenced")
    later = cycles(url) + 2  # two more cycles to notify in, had the silence not held
    wait_until(lambda: cycles(url) >= later, 30, 0.2, "two more cycles")
    assert "firing" not in statuses(receiver, "ServiceDown")  # silenced
    assert httpx.delete(f"{url}/api/silences/{s.json()['id']}").status_code == 200
    wait_until(lambda: "firing" in statuses(receiver, "ServiceDown"), 30, 0.2, "firing after unsilence")
    rules = httpx.get(url + "/api/alerts/rules").json()["rules"]
    assert any(r["name"] == "BurnerHot" for r in rules)
