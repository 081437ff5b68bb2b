"""Abuse of the hub's web layer against real hub processes: DNS rebinding (Host allowlist,
Origin with scheme and port), sessions that outlive logout or a rotated token, secrets in logs,
forged X-Forwarded-For and bearer-token guessing."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from secsupport import ADMIN_TOKEN, VIEWER_TOKEN, Hub, sha
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support import Receiver, wait_until

FAST = "collectors: {enabled: [memory]}\n"
RULE = ("rules:\n  - {name: AlwaysFires, metric: autobot_memory_used_percent, op: '>', "
        "threshold: 0, for: 0, severity: high, summary: memory in use}\n")
HOOK_PASSWORD = "hookpass-9c1d7e"
SLACK_PATH = "/services/T00000000/B00000000/slacksecret4f2a9b"
WS_TOKEN = "wsquerytoken-77ab01"


def _get(hub, path: str, token: str | None = None, **headers) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(hub.url + path, headers=headers, timeout=10)


def _ws(hub, path="/ws", **headers):
    return connect(hub.url.replace("http", "ws") + path, additional_headers=headers or None,
                   open_timeout=10)


def test_open_mode_host_origin_and_no_secret_in_logs(tmp_path):
    fail = Receiver(status=500)  # a webhook receiver that is down
    channels = (f"alerting:\n  channels:\n"
                f"    - {{name: hook, type: webhook, max_retries: 0, "
                f"url: 'http://hookuser:{HOOK_PASSWORD}@127.0.0.1:{fail.port}/hook'}}\n"
                f"    - {{name: chat, type: slack, max_retries: 0, "
                f"url: 'http://127.0.0.1:{fail.port}{SLACK_PATH}'}}\n")
    hub = Hub(tmp_path, FAST + RULE + channels)
    try:
        hub.wait_cycles(1, token=None)
        evil = f"evil.example:{hub.port}"
        # DNS rebinding: the page's own name arrives as Host, on every path, reads included
        for path in ("/healthz", "/api/system/status", "/metrics", "/"):
            r = _get(hub, path, Host=evil)
            assert r.status_code == 400 and "Host" in r.json()["error"], path
        r = httpx.post(hub.url + "/api/silences", json={"matchers": {"a": "b"}},
                       headers={"Host": evil, "Origin": f"http://{evil}"})
        assert r.status_code == 400
        with pytest.raises(InvalidStatus) as e:
            _ws(hub, Host=evil).close()
        assert e.value.response.status_code == 400
        assert _get(hub, "/healthz", Host=f"localhost:{hub.port}").status_code == 200
        # Origin must match scheme, host and port, not the host alone
        for origin in (f"http://127.0.0.1:{hub.port + 1}", f"https://127.0.0.1:{hub.port}",
                       "http://127.0.0.1", "null"):
            r = httpx.post(hub.url + "/api/silences", json={"matchers": {"a": "b"}},
                           headers={"Origin": origin})
            assert r.status_code == 403, origin
            with pytest.raises(InvalidStatus):
                _ws(hub, Origin=origin).close()
        assert httpx.post(hub.url + "/api/silences", json={"matchers": {"a": "b"}},
                          headers={"Origin": hub.url}).status_code == 201
        # a token in a query string reaches uvicorn's own log lines
        with _ws(hub, f"/ws?token={WS_TOKEN}") as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "metrics_update"
        with pytest.raises(InvalidStatus):
            _ws(hub, f"/ws?token={WS_TOKEN}", Origin="http://evil.example").close()
        wait_until(lambda: hub.logs().count("delivery failed") >= 2, 60, 0.2,
                   "both channels to fail")
    finally:
        hub.stop()
        fail.stop()
    logs = _all_logs(hub)  # every file, rotated ones included, and the console, after shutdown
    assert "hook" in logs and "/ws?token=***" in logs  # the lines are there, redacted
    for secret in (HOOK_PASSWORD, SLACK_PATH, "slacksecret4f2a9b", WS_TOKEN):
        assert secret not in logs, secret


def _all_logs(hub) -> str:
    files = [p for p in hub.data.rglob("*") if p.is_file() and ".log" in p.name]
    assert any(p.name == "monitoring_control.log" for p in files)
    return "\n".join(p.read_text(errors="replace") for p in files) + \
        open(hub.proc.log_path, errors="replace").read()


def _login(hub, token: str) -> httpx.Client:
    c = httpx.Client(base_url=hub.url, timeout=5)
    r = c.post("/login", data={"token": token})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return c


def _browser(hub, cookies: dict) -> httpx.Client:
    """A client holding only ``cookies`` (a copy of a browser's session)."""
    return httpx.Client(base_url=hub.url, timeout=10, cookies=cookies)


def _silence(hub, cookies: dict) -> int:
    with _browser(hub, cookies) as c:
        return c.post("/api/silences", json={"matchers": {"a": "b"}},
                      headers={"X-CSRF-Token": cookies["autobot_csrf"]}).status_code


def _read(hub, cookies: dict) -> int:
    with _browser(hub, cookies) as c:
        return c.get("/api/alerts").status_code


def _login_and_logout(hub) -> dict:
    """Log in as admin, check the session works, log out: in headless chromium through the login
    form and the dashboard's button when available, else over HTTP. Returns the cookies the
    session had before logout."""
    import shutil

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        c = _login(hub, ADMIN_TOKEN)
        kept = dict(c.cookies)
        assert _silence(hub, kept) == 201
        assert c.post("/logout", headers={"Origin": hub.url}).status_code == 303
        return kept
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox",
                                                                     "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(hub.url + "/login")
            page.fill("#token", ADMIN_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            kept = {c["name"]: c["value"] for c in page.context.cookies()}
            assert _silence(hub, kept) == 201
            assert page.text_content("#logout") == "Log out"
            page.click("#logout")
            page.wait_for_url("**/login", timeout=30000)
        finally:
            browser.close()
    return kept


TOKENS = (f"auth:\n  login_max_failures: 3\n  bearer_max_failures: 3\n  login_window: 600\n"
          f"  tokens:\n    - {{name: ops, role: admin, token_sha256: {{ops}}}}\n"
          f"    - {{name: bob, role: viewer, token_sha256: {sha(VIEWER_TOKEN)}}}\n")


def test_sessions_end_at_logout_and_rotation_and_guessing_is_limited(tmp_path):
    new_token = "rotated-ops-token-3e8f1a"
    hub = Hub(tmp_path, FAST + TOKENS.replace("{ops}", sha(ADMIN_TOKEN)))
    try:
        hub.wait_cycles(1)
        raw = httpx.Client(base_url=hub.url, timeout=5)
        # logout (the dashboard's button) ends the session on the server, not only in the browser
        kept = _login_and_logout(hub)
        assert _read(hub, kept) == 401
        assert _silence(hub, kept) == 401
        # rotating the token and reloading ends the sessions opened with the old one
        kept = dict(_login(hub, ADMIN_TOKEN).cookies)
        viewer = dict(_login(hub, VIEWER_TOKEN).cookies)
        hub.cfg.write_text(hub.cfg.read_text().replace(sha(ADMIN_TOKEN), sha(new_token)))
        r = raw.post("/api/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200, r.text
        assert _silence(hub, kept) == 401
        assert _read(hub, kept) == 401
        assert _read(hub, viewer) == 200  # other tokens unaffected
        assert hub.get("/api/alerts", new_token).status_code == 200
        # CLI: the token from a file (not argv); --token still works but warns
        tf = tmp_path / "token"
        tf.write_text(VIEWER_TOKEN + "\n")
        base = [sys.executable, "-m", "autobot_monitor.cli", "status", "--url", hub.url, "--json"]
        r = subprocess.run([*base, "--token-file", str(tf)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
        r = subprocess.run([*base, "--token", VIEWER_TOKEN], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and "--token-file" in r.stderr
        # rotating X-Forwarded-For neither resets the login limit nor forges the access log
        for i in range(3):
            r = raw.post("/login", data={"token": "guess"}, headers={"X-Forwarded-For": f"10.9.8.{i}"})
            assert r.status_code == 303 and r.headers["location"] == "/login?failed=1"
        r = raw.post("/login", data={"token": new_token}, headers={"X-Forwarded-For": "10.9.8.77"})
        assert r.status_code == 429
        # bearer guesses are limited per address too, and the limit holds even for the right one
        for i in range(3):
            assert _get(hub, "/api/alerts", f"guess-{i}",
                        **{"X-Forwarded-For": f"10.7.0.{i}"}).status_code == 401
        r = _get(hub, "/api/alerts", new_token)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    finally:
        hub.stop()
    access = (hub.data / "logs" / "access.log").read_text()
    assert "10.9.8." not in access and "10.7.0." not in access
    assert '"client":"127.0.0.1"' in access


# -- units -----------------------------------------------------------------------------------
def test_redaction_masks_every_credential_form():
    from autobot_monitor.redaction import redact_text, register_secret_url

    register_secret_url("https://hooks.slack.example/services/T1/B2/unitslacksecret")
    line = ("POST http://u:pw@h/x?token=abc&page=2&api_key=k1;session=s9 "
            "'https://hooks.slack.example/services/T1/B2/unitslacksecret' Authorization: Bearer zzzz9")
    out = redact_text(line)
    for gone in ("pw@", "abc", "k1", "s9", "unitslacksecret", "zzzz9"):
        assert gone not in out, gone
    assert "http://***@h/x?token=***&page=2&api_key=***;session=***" in out
    assert "Bearer ***" in out


def test_host_and_origin_rules():
    from autobot_monitor.web.guard import HostAllowlist, SessionTable, same_origin, split_host

    assert split_host("[::1]:9090") == ("::1", 9090) and split_host("Example.COM.") == ("example.com", None)
    assert split_host("h:99999") is None and split_host("") is None and split_host("h:x") is None
    hosts = HostAllowlist({"127.0.0.1", "localhost", "::1"}, ["mon.example", "*.corp.example"])
    for ok in ("127.0.0.1:9090", "localhost", "[::1]:1", "mon.example:443", "a.b.corp.example"):
        assert hosts.allowed(ok), ok
    for bad in ("evil.example", "corp.example", "xcorp.example", "", None, "127.0.0.1.evil.example"):
        assert not hosts.allowed(bad), bad
    assert HostAllowlist(set(), ["*"]).allowed("anything")
    assert same_origin(None, "http", "h:1")
    assert same_origin("http://h:80", "http", "h") and same_origin("https://h", "wss", "h:443")
    for bad in ("http://h:2", "https://h:1", "http://g:1", "null", "h:1"):
        assert not same_origin(bad, "http", "h:1"), bad
    table = SessionTable(max_sessions=3, clock=lambda: 0.0)
    for i in range(5):
        table.add(f"n{i}", "digest", 10.0)
    assert len(table) == 3 and table.get("n0") is None and table.get("n4") is not None
    assert table.revoke("n4") and table.get("n4") is None
    assert table.get("n3", now=11.0) is None  # expired


def test_config_refuses_bad_hosts_and_proxies():
    from autobot_monitor.config.loader import parse_config
    from autobot_monitor.errors import ConfigError

    cfg = parse_config("auth: {allowed_hosts: [mon.example, '*.corp.example', '[::1]'], "
                       "trusted_proxies: [10.0.0.1, 192.168.0.0/16]}", "c.yaml")
    assert cfg.auth.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    for bad in ("auth: {allowed_hosts: ['a b']}", "auth: {trusted_proxies: [proxy.example]}",
                "auth: {bearer_max_failures: 0}"):
        with pytest.raises(ConfigError) as e:
            parse_config(bad, "c.yaml")
        assert e.value.problems[0].startswith("c.yaml:1: auth."), e.value.problems


def test_redact_filter_covers_arguments_and_tracebacks():
    import logging

    from autobot_monitor.redaction import RedactFilter

    try:
        raise ValueError("cannot reach http://svc:tracepw@10.0.0.1/x?secret=s3cr3t")
    except ValueError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s failed", ("/a?auth=zz9",),
                                sys.exc_info())
    assert RedactFilter().filter(rec)
    text = logging.Formatter().format(rec)
    assert "/a?auth=***" in text and "http://***@10.0.0.1/x?secret=***" in text
    for gone in ("zz9", "tracepw", "s3cr3t"):
        assert gone not in text


def test_cli_token_file_errors_are_clear(tmp_path, capsys):
    from autobot_monitor.cli import main

    url = ["--url", "http://127.0.0.1:9"]
    assert main(["status", *url, "--token-file", str(tmp_path / "missing")]) == 2
    assert "--token-file" in capsys.readouterr().err
    (tmp_path / "empty").write_text("\n")
    assert main(["status", *url, "--token-file", str(tmp_path / "empty")]) == 2
    assert "empty file" in capsys.readouterr().err
