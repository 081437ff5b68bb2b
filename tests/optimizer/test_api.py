"""The optimizer through a real hub process: recommendations over REST, a dry run, an applied
restart of a real (test-owned) service measured up afterwards, a guardrail refusal, the effect
measured from the store, metrics, the audit log and the CLI against the hub."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from support import HubProcess, free_port, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def hub(tmp_path):
    svc_port = free_port()
    pidfile = tmp_path / "svc.pid"
    script = tmp_path / "restart-web"
    script.write_text(f"#!/bin/sh\n{sys.executable} -m http.server {svc_port} --bind 127.0.0.1 "
                      f"--directory {tmp_path} >/dev/null 2>&1 &\necho $! > {pidfile}\n")
    script.chmod(0o755)
    hub = HubProcess(tmp_path, {
        "dashboard_enabled": False, "local_host": {"name": "box"},
        "collectors": {"disabled": ["gpu", "npu", "sensors"]},
        "services": [{"name": "web", "type": "http", "url": f"http://127.0.0.1:{svc_port}/",
                      "timeout": 1}],
        "optimizer": {"settle_time": "1s", "measure_window": "2s",
                      "services": [{"service": "web", "command": [str(script)], "grace": "1s"}]}},
        data=tmp_path / "d")
    try:
        hub.wait_cycles(3)
        yield hub.url, tmp_path
    finally:
        hub.stop()
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass


def test_recommend_dry_run_apply_refuse_measure(hub):
    url, tmp = hub
    r = httpx.get(url + "/api/optimizer/recommendations", params={"refresh": "true"}, timeout=30)
    assert r.status_code == 200
    doc = r.json()
    rec = next(x for x in doc["recommendations"] if x["kind"] == "service_down")
    assert rec["severity"] == "critical" and rec["action"]["type"] == "restart_service"
    assert rec["evidence"]["values"]["up"] == 0 and doc["auto_optimization_enabled"] is False
    assert httpx.post(url + "/api/optimizer/apply/nope", json={}).status_code == 404
    assert httpx.post(url + f"/api/optimizer/apply/{rec['id']}", json={"bogus": 1}).status_code == 400
    dry = httpx.post(url + f"/api/optimizer/apply/{rec['id']}", json={"dry_run": True}).json()
    assert dry["plan"][0] == f"run {tmp / 'restart-web'} (no shell, timeout 60s)"
    assert not (tmp / "svc.pid").exists()  # the dry run ran nothing
    for body in ({}, None):  # no body, or no dry_run in it: a dry run too
        nobody = httpx.post(url + f"/api/optimizer/apply/{rec['id']}", json=body)
        assert nobody.status_code == 200 and nobody.json()["plan"] == dry["plan"]
        assert "result" not in nobody.json()
    assert not (tmp / "svc.pid").exists()

    r = httpx.post(url + f"/api/optimizer/apply/{rec['id']}", json={"dry_run": False}, timeout=30)
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert res["ok"] and res["measured"]["up_before"] is False and res["measured"]["up_after"] is True
    again = httpx.post(url + f"/api/optimizer/apply/{rec['id']}", json={"dry_run": False}, timeout=30)
    assert again.status_code == 409 and "cooldown" in again.json()["error"]

    def measured():
        h = httpx.get(url + "/api/optimizer/history").json()["history"]
        applied = [e for e in h if e["event"] == "applied"]
        return applied and applied[0]["effect"]["verdict"] != "pending" and applied[0]
    entry = wait_until(measured, 20, 0.3, "effect measured")
    eff = entry["effect"]
    assert eff["metric"] == "autobot_service_up" and eff["before"] == 0.0 and eff["after"] == 1.0
    assert eff["verdict"] == "improved"
    wait_until(lambda: 'autobot_optimizer_actions_total{action="restart_service",result="success"} 1'
               in httpx.get(url + "/metrics").text, 10, 0.3, "actions metric")
    lines = [json.loads(x) for x in open(tmp / "d" / "logs" / "optimization.log")]
    assert [x["event"] for x in lines if x.get("action_id") == entry["action_id"]] == \
        ["started", "applied", "effect"]
    # the CLI against the hub: service is up now, so nothing is down any more
    out = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "optimize", "--url", url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("optimizer cycle") and "service_down" not in out.stdout


def test_legacy_optimize_once_runs_locally(tmp_path):
    out = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "--optimize-once",
                          "--data-dir", str(tmp_path / "d"), "--json"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["mode"] == "none" and rep["cycle"] == 1
    for r in rep["recommendations"]:  # whatever this machine shows, each one carries evidence
        assert r["evidence"]["values"] and r["decision"]["reason"] == "dry run"
