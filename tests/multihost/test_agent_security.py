"""Agent security and host-down logic on loopback (no root needed): bearer token on /metrics and
/api/*, /healthz open, refusal to listen beyond loopback without a token, HTTPS with the hub
verifying the agent against its own CA file, and the hub's ``down_after`` missed scrapes with a
dead agent that never delays a live one."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import threading

import httpx
import pytest

from autobot_monitor.config.models import MonitorConfig
from autobot_monitor.hub.service import Hub
from support import CliProcess, free_port, wait_http, wait_until

pytestmark = pytest.mark.timeout(90)
FAST = ["--interval", "1", "--collector.enable", "cpu", "--collector.enable", "loadavg"]


def test_agent_beyond_loopback_needs_a_token_or_insecure(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "agent", "--listen",
                        "192.0.2.77:9100"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "without a token" in r.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "agent", "--token-file",
                        str(empty)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "empty token file" in r.stderr


def test_token_required_except_healthz(tmp_path, monkeypatch):
    port = free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{port}", *FAST],
                       env={"AUTOBOT_AGENT_TOKEN": "s3cret"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 30)
        for path in ("/metrics", "/api/v1/snapshot", "/api/v1/throughput/stream"):
            r = httpx.get(base + path)
            assert r.status_code == 401 and r.json()["error"] and r.headers["www-authenticate"]
            assert httpx.get(base + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        wait_until(lambda: httpx.get(base + "/metrics", headers=good).status_code == 200, 20)
        r = httpx.get(base + "/api/v1/throughput/stream", params={"duration": "20"}, headers=good)
        assert r.status_code == 400 and "duration" in r.json()["error"]
        # the network benchmark measures throughput through that endpoint, with the token
        from autobot_monitor.benchmark.network import throughput
        from autobot_monitor.config.models import HostConfig

        host = HostConfig(name="a", address=f"127.0.0.1:{port}", token_env="TEST_TP_TOKEN")
        monkeypatch.setenv("TEST_TP_TOKEN", "s3cret")
        res, note = throughput(host, 0.5)
        assert res["bytes"] > 0 and res["megabytes_per_second"] > 1 and "tcp-stream" in note
        monkeypatch.setenv("TEST_TP_TOKEN", "wrong")
        res, note = throughput(host, 0.5)
        assert res is None and "refused the token" in note
    finally:
        agent.stop()


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


async def test_hub_scrapes_https_agent_with_token_and_marks_dead_host_down(tmp_path, tls_files,
                                                                           monkeypatch):
    cert, key = tls_files
    port = free_port()
    tok = tmp_path / "token"
    tok.write_text("tls-token\n")
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{port}", "--token-file", str(tok),
                        "--tls-cert", str(cert), "--tls-key", str(key), *FAST])
    # a "dead" host: accepts connections and never answers (a hung agent)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: [accepted.append(hung.accept()[0]) for _ in range(16)],
                     daemon=True).start()
    monkeypatch.setenv("TEST_AGENT_TOKEN", "tls-token")
    cfg = MonitorConfig.model_validate({
        "monitoring_interval": 1, "local_host": {"enabled": False},
        "scrape": {"timeout": 0.5, "down_after": 2},
        "hosts": [{"name": "good", "address": f"127.0.0.1:{port}", "scheme": "https",
                   "tls_ca": str(cert), "token_env": "TEST_AGENT_TOKEN"},
                  {"name": "hung", "address": f"127.0.0.1:{hung.getsockname()[1]}",
                   "down_after": 3}]})
    hub = Hub(cfg, str(tmp_path / "d"))
    await hub.start()
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as c:
            wait_until(lambda: c.get(f"https://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": "Bearer tls-token"}).status_code == 200, 30)
        await hub.run_cycle()
        good, dead = hub.hosts["good"], hub.hosts["hung"]
        assert good.up and good.error is None and good.summary, good.error
        assert not dead.up and dead.last_scrape_error == "timeout"  # never seen: down at once
        assert dead.error == "last scrape failed: timeout (1 of the last 1)"
        # the good agent goes away (killed: a TLS agent holding the hub's idle keep-alive
        # connection takes 20 s+ to end on SIGTERM): still up after 1 miss, down after 2
        agent.stop(signal.SIGKILL)
        await hub.run_cycle()
        assert good.up and good.missed == 1
        await hub.run_cycle()
        assert not good.up and good.missed == 2
        agent = CliProcess(["agent", "--listen", f"127.0.0.1:{port}", "--token-file", str(tok),
                            "--tls-cert", str(cert), "--tls-key", str(key), *FAST])
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as c:
            wait_until(lambda: c.get(f"https://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": "Bearer tls-token"}).status_code == 200, 30)
        await hub.run_cycle()
        assert good.up and good.missed == 0  # up again on the first good scrape
        # a wrong token is a clear scrape error
        monkeypatch.setenv("TEST_AGENT_TOKEN", "nope")
        await hub.run_cycle()
        assert "401" in hub.hosts["good"].error
    finally:
        await hub.close()
        agent.stop()
        hung.close()
        for s in accepted:
            s.close()
