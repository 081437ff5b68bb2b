"""Access control against a real hub process: tokens, roles, sessions, CSRF, WebSocket, login
rate limit, access log and secrets (issue 9)."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from secsupport import ADMIN_TOKEN, ENV_TOKEN, VIEWER_TOKEN, Hub, sha
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from autobot_monitor.web.auth import Authenticator, LoginLimiter, Principal, new_token


def test_open_and_protected_paths(auth_hub):
    assert auth_hub.get("/healthz", None).status_code == 200
    for path in ("/api/metrics/current", "/api/system/status", "/api/alerts", "/metrics",
                 "/api/metrics/history?metric=autobot_cpu_busy_percent", "/openapi.json"):
        r = auth_hub.get(path, None)
        assert r.status_code == 401, path
        assert r.json()["error"].startswith("authentication required")
        assert auth_hub.get(path, "wrong-token").status_code == 401
        assert auth_hub.get(path, VIEWER_TOKEN).status_code == 200, path
        assert auth_hub.get(path, ENV_TOKEN).status_code == 200, path  # token_env
    r = auth_hub.get("/", None, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    login = auth_hub.get("/login", None)
    assert login.status_code == 200 and "form-action 'self'" in login.headers["content-security-policy"]
    assert auth_hub.get("/static/app.js", None).status_code == 200  # code, no data


def test_admin_needed_for_changes(auth_hub):
    body = {"matchers": {"alertname": "AlwaysFires"}, "duration": "5m"}
    h = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    r = httpx.post(auth_hub.url + "/api/silences", json=body, headers=h)
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert httpx.post(auth_hub.url + "/api/silences", json=body).status_code == 401
    r = httpx.post(auth_hub.url + "/api/silences", json=body,
                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201
    sid = r.json()["id"]
    assert httpx.delete(f"{auth_hub.url}/api/silences/{sid}", headers=h).status_code == 403
    assert httpx.delete(f"{auth_hub.url}/api/silences/{sid}?by=mallory",
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    hist = auth_hub.get("/api/alerts/history", ADMIN_TOKEN).json()["transitions"]
    assert [(h["to"], h["by"]) for h in hist if h.get("silence") == sid][0] == ("silence_deleted", "alice")


def test_websocket_needs_a_token(auth_hub):
    ws_url = auth_hub.url.replace("http", "ws") + "/ws"
    with pytest.raises(InvalidStatus) as e:
        connect(ws_url, open_timeout=5).close()
    assert e.value.response.status_code == 403
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {VIEWER_TOKEN}"},
                 open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "metrics_update"


def _login(hub, token: str) -> httpx.Client:
    c = httpx.Client(base_url=hub.url, timeout=5)
    r = c.post("/login", data={"token": token})
    assert r.status_code == 303, r.text
    return c


def test_login_session_and_csrf(auth_hub):
    c = _login(auth_hub, ADMIN_TOKEN)
    r = c.post("/login", data={"token": ADMIN_TOKEN})
    cookies = r.headers.get_list("set-cookie")
    sess = next(x for x in cookies if x.startswith("autobot_session="))
    csrf_c = next(x for x in cookies if x.startswith("autobot_csrf="))
    assert "HttpOnly" in sess and "SameSite=Strict" in sess and "Secure" not in sess
    assert "HttpOnly" not in csrf_c and "SameSite=Strict" in csrf_c
    assert ADMIN_TOKEN not in "".join(cookies)
    assert c.get("/api/alerts").status_code == 200
    assert c.get("/", follow_redirects=False).status_code == 200
    fp = c.get("/api/alerts").json()["alerts"][0]["fingerprint"]
    assert c.post(f"/api/alerts/{fp}/ack").status_code == 403  # no CSRF header
    assert c.post(f"/api/alerts/{fp}/ack", headers={"X-CSRF-Token": "forged"}).status_code == 403
    ok = c.post(f"/api/alerts/{fp}/ack", headers={"X-CSRF-Token": c.cookies["autobot_csrf"]})
    assert ok.status_code == 200, ok.text
    # a tampered session cookie is refused
    bad = httpx.get(auth_hub.url + "/api/alerts",
                    cookies={"autobot_session": c.cookies["autobot_session"].replace("admin", "viewer")})
    assert bad.status_code == 401
    # the WebSocket takes the session cookie from the page's own origin only
    cookie = f"autobot_session={c.cookies['autobot_session']}"
    ws_url = auth_hub.url.replace("http", "ws") + "/ws"
    with connect(ws_url, additional_headers={"Cookie": cookie}, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "metrics_update"
    with pytest.raises(InvalidStatus):
        connect(ws_url, additional_headers={"Cookie": cookie}, origin="http://evil.example",
                open_timeout=5).close()
    r = c.post("/logout")
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]


def test_viewer_session_cannot_change(auth_hub):
    c = _login(auth_hub, VIEWER_TOKEN)
    r = c.post("/api/silences", json={"matchers": {"a": "b"}},
               headers={"X-CSRF-Token": c.cookies["autobot_csrf"]})
    assert r.status_code == 403


def test_access_log_and_no_secret_anywhere(auth_hub):
    auth_hub.get("/api/system/status", VIEWER_TOKEN)
    auth_hub.get("/api/alerts", None)
    _login(auth_hub, ADMIN_TOKEN)
    httpx.post(auth_hub.url + "/login", data={"token": "not-a-token-" + ADMIN_TOKEN})
    lines = [json.loads(x) for x in (auth_hub.data / "logs" / "access.log").read_text().splitlines()]
    assert {"time", "client", "who", "method", "path", "status", "duration_s"} <= set(lines[0])
    assert any(x["who"] == "bob" and x["path"] == "/api/system/status" and x["status"] == 200
               for x in lines)
    assert any(x["who"] == "anonymous" and x["path"] == "/api/alerts" and x["status"] == 401
               for x in lines)
    assert any(x["who"] == "alice" and x["path"] == "/login" and x["status"] == 303 for x in lines)
    # no token, no token hash in any log or API answer
    answers = "".join(auth_hub.get(p).text for p in (
        "/api/metrics/current?full=true", "/api/system/status", "/api/alerts", "/api/alerts/rules",
        "/metrics", "/openapi.json"))
    everything = auth_hub.logs() + answers
    for secret in (ADMIN_TOKEN, VIEWER_TOKEN, ENV_TOKEN, sha(ADMIN_TOKEN), sha(ENV_TOKEN)):
        assert secret not in everything


def test_cli_status_sends_the_token(auth_hub):
    base = [sys.executable, "-m", "autobot_monitor.cli", "status", "--url", auth_hub.url, "--json"]
    r = subprocess.run(base, capture_output=True, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin", "AUTOBOT_MONITOR_TOKEN": ""})
    assert r.returncode == 1 and "401" in r.stderr
    r = subprocess.run([*base, "--token", VIEWER_TOKEN], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout)["status"]["cycles"] >= 1


def test_beyond_loopback_needs_tokens(tmp_path):
    cli = [sys.executable, "-m", "autobot_monitor.cli"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 1\n")
    r = subprocess.run([*cli, "start", "--config", str(cfg), "--host", "0.0.0.0", "--data-dir",
                        str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "auth.tokens" in r.stderr
    cfg.write_text("auth: {tokens: [{name: x, role: admin, token_env: AUTOBOT_TEST_UNSET}]}\n")
    r = subprocess.run([*cli, "start", "--config", str(cfg), "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "AUTOBOT_TEST_UNSET is not set" in r.stderr
    hub = Hub(tmp_path / "..", f"auth: {{tokens: [{{name: a, role: admin, token_sha256: {sha('t0k')}}}]}}\n",
              args=("--host", "0.0.0.0"))
    try:
        hub.wait_cycles(1, token="t0k")
        assert hub.get("/api/alerts", None).status_code == 401
    finally:
        hub.stop()


def test_hash_token_command():
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "hash-token", "--name", "ci",
                        "--role", "viewer"], capture_output=True, text=True, timeout=30)
    lines = dict(x.split(": ", 1) for x in r.stdout.splitlines()[:2])
    assert sha(lines["token"]) == lines["sha256"]
    assert f"token_sha256: {lines['sha256']}" in r.stdout and "role: viewer" in r.stdout


# -- units -----------------------------------------------------------------------------------
class _Cfg:
    def __init__(self, **kw):
        from autobot_monitor.config.security import AuthConfig

        self.c = AuthConfig.model_validate(kw)


def test_sessions_expire_and_follow_the_token_table():
    tok, digest = new_token()
    cfg = _Cfg(tokens=[{"name": "a", "role": "admin", "token_sha256": digest}]).c
    auth = Authenticator(cfg, environ={})
    assert auth.check_token(tok) == Principal("a", "admin")
    value, csrf = auth.issue_session(tok, now=1000.0)
    assert auth.check_session(value, now=1001.0) == (Principal("a", "admin"), csrf)
    assert auth.check_session(value, now=1000.0 + cfg.session_ttl + 1) is None
    other = Authenticator(cfg, environ={})  # another secret: not valid
    assert other.check_session(value, now=1001.0) is None
    assert auth.required_role("GET", "/healthz") is None
    assert auth.required_role("GET", "/metrics") == "viewer"
    assert auth.required_role("DELETE", "/api/silences/x") == "admin"
    pub = Authenticator(_Cfg(tokens=[{"name": "a", "token_sha256": digest}], metrics_public=True).c, {})
    assert pub.required_role("GET", "/metrics") is None


def test_login_limiter_memory_is_bounded():
    now = [0.0]
    lim = LoginLimiter(2, 60, max_clients=100, clock=lambda: now[0])
    lim.failed("a")
    assert lim.retry_after("a") == 0
    lim.failed("a")
    assert lim.retry_after("a") > 0
    now[0] = 61
    assert lim.retry_after("a") == 0
    for i in range(1000):
        lim.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(lim) <= 100


def test_config_refuses_bad_tokens():
    from autobot_monitor.config.loader import parse_config
    from autobot_monitor.errors import ConfigError

    for bad in ("auth: {tokens: [{name: a, token_sha256: abc}]}",
                "auth: {tokens: [{name: a}]}",
                "auth: {tokens: [{name: a, token_sha256: " + "a" * 64 + ", token_env: X}]}",
                "auth: {tokens: [{name: a, role: root, token_env: X}]}",
                "privacy: {redact_process_names: ['(']}"):
        with pytest.raises(ConfigError) as e:
            parse_config(bad, "c.yaml")
        assert e.value.problems[0].startswith("c.yaml:1: ")


def test_open_mode_refuses_cross_origin_writes_and_websocket(tmp_path):
    """With no tokens (loopback), a foreign Origin can neither change state nor open /ws."""
    import asyncio

    import httpx
    import websockets

    from support import HubProcess

    hub = HubProcess(tmp_path, {"collectors": {"enabled": ["cpu", "memory", "loadavg"]}})
    url = hub.url
    try:
        hub.wait_cycles(1)
        evil = {"Origin": "http://evil.example"}
        r = httpx.post(url + "/api/admin/reload", headers=evil)
        assert r.status_code == 403 and "cross-origin" in r.json()["error"]
        assert httpx.post(url + "/api/silences", headers=evil,
                          json={"matchers": {"a": "b"}}).status_code == 403
        same = {"Origin": url}
        assert httpx.post(url + "/api/silences", headers=same,
                          json={"matchers": {"a": "b"}}).status_code == 201
        assert httpx.get(url + "/api/system/status", headers=evil).status_code == 200

        async def ws(origin):
            async with websockets.connect(url.replace("http", "ws") + "/ws",
                                          additional_headers={"Origin": origin}) as c:
                return await asyncio.wait_for(c.recv(), 10)

        assert "metrics_update" in asyncio.run(ws(url))
        try:
            asyncio.run(ws("http://evil.example"))
            raise AssertionError("cross-origin websocket was accepted")
        except (websockets.exceptions.ConnectionClosed, websockets.exceptions.InvalidStatus):
            pass
    finally:
        hub.stop()


def test_failed_logins_are_limited(auth_hub):
    """Failures count per client address: this client comes from 127.0.0.3, an address of its
    own, so it starts with none and locks nobody else out of the module's hub."""
    c = httpx.Client(base_url=auth_hub.url, timeout=5,
                     transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    for _ in range(3):
        r = c.post("/login", data={"token": "guess"})
        assert r.status_code == 303 and r.headers["location"] == "/login?failed=1"
    r = c.post("/login", data={"token": ADMIN_TOKEN})  # even the right one, while limited
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
