"""Client commands against a real HTTP server standing in for the hub: ``export --url`` sends the
token from ``--token-file`` or $AUTOBOT_MONITOR_TOKEN, HTTP errors are one line (401 "token
missing or refused", 429 "rate limited"); the status view never prints "-0"; the hub API answers
unknown routes with ``{"error": ...}``; ``--listen`` names the port range."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from fastapi.testclient import TestClient

from autobot_monitor import cli
from autobot_monitor.config import load_config
from autobot_monitor.hub.service import Hub
from autobot_monitor.status_view import _fmt, _penalty
from autobot_monitor.web.app import create_app

TOKEN = "s3cret-token"


class _FakeHub(BaseHTTPRequestHandler):
    """``/api/metrics/history`` needs the bearer token; ``/api/system/status`` answers 429."""

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.startswith("/api/system/status"):
            code, body, extra = 429, {"error": "too many requests"}, {"Retry-After": "7"}
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            code, body, extra = 401, {"error": "missing or unknown token"}, {}
        else:
            code, extra = 200, {}
            body = {"series": [{"labels": {"host": "h1"}, "points": [[1.0, 2.0]]}]}
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **extra}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _export(url, *extra):
    return cli.main(["export", "--url", url, "--metric", "autobot_host_up", *extra])


def test_export_sends_the_token_and_says_why_it_was_refused(url, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AUTOBOT_MONITOR_TOKEN", raising=False)
    assert _export(url) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "token missing or refused" in err[0] and "mozilla" not in err[0], err
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    assert _export(url, "--token-file", str(f)) == 0
    assert "h1" in capsys.readouterr().out
    monkeypatch.setenv("AUTOBOT_MONITOR_TOKEN", TOKEN)
    assert _export(url) == 0
    assert "h1" in capsys.readouterr().out


def test_status_says_rate_limited_with_the_retry_delay(url, capsys):
    assert cli.main(["status", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "rate limited (429), retry after 7 s" in err and "cannot reach" not in err, err


def test_values_rounding_to_zero_show_no_minus_sign():
    assert _fmt(-0.0) == "0.0" and _fmt(-0.04) == "0.0" and _fmt(-0.04, "{:.0f}", "%") == "0%"
    assert _fmt(-1.25, "{:.1f}") == "-1.2" and _fmt(None) == "n/m"
    assert _penalty(-0.0) == _penalty(0.0) == "0" and _penalty(6.7) == "-6.7"


def test_unknown_route_answers_an_error_object(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 10\ndashboard_enabled: false\ncollectors: {enabled: [loadavg]}\n")
    hub = Hub(load_config(str(cfg)), str(tmp_path / "d"), str(cfg))
    with TestClient(create_app(hub), base_url="http://127.0.0.1") as client:
        r = client.get("/api/no/such/route")
        assert r.status_code == 404 and r.json() == {"error": "Not Found"}
        r = client.delete("/healthz")
        assert r.status_code == 405 and "error" in r.json()


def test_listen_port_error_names_the_range(capsys):
    with pytest.raises(SystemExit):
        cli.main(["agent", "--listen", "127.0.0.1:0"])
    assert "1-65535" in capsys.readouterr().err


def test_collector_rebuild_log_has_a_single_percent_sign():
    import inspect

    from autobot_monitor.hub import service

    src = inspect.getsource(service)
    assert "CPU %% and rates" not in src and "CPU % and rates" in src
