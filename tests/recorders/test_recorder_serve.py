"""The exposition helpers serve the recorder's registry: ASGI in a real Starlette app, WSGI, and
the standalone HTTP server on a real socket; exposition parsed back with promtool when present."""

from __future__ import annotations

import subprocess
import wsgiref.util

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route

from autobot_monitor.exposition import parse
from autobot_monitor.recorders import (
    PerformanceMetricsRecorder,
    Recorder,
    metrics_asgi_app,
    metrics_wsgi_app,
    start_http_server,
)
from support import PROMTOOL, free_port


def _recorded() -> Recorder:
    rec = PerformanceMetricsRecorder()
    with rec.time("search"):
        pass
    rec.record_multimodal("image", 0.3)
    return rec


def _has_search(text: str) -> bool:
    return any(s.name == "autobot_operations_total" and s.labels.get("operation") == "search"
               for f in text_string_to_metric_families(text) for s in f.samples)


async def test_asgi_app_as_a_starlette_route():
    rec = _recorded()
    app = Starlette(routes=[Route("/metrics", metrics_asgi_app(rec))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://app") as c:
        r = await c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert _has_search(r.text)


def test_wsgi_app():
    rec = _recorded()
    environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
    wsgiref.util.setup_testing_defaults(environ)
    got = {}

    def start_response(status, headers):
        got["status"] = status

    body = b"".join(metrics_wsgi_app(rec.registry)(environ, start_response))
    assert got["status"].startswith("200")
    assert _has_search(body.decode())


def test_standalone_http_server_on_loopback():
    rec = _recorded()
    port = free_port()
    server, thread = start_http_server(port, registry=rec)
    try:
        assert server.server_address[0] == "127.0.0.1"
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200 and _has_search(r.text)
        with pytest.raises(OSError):
            start_http_server(port, registry=rec)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(TypeError):
        metrics_asgi_app(object())


def test_hub_parses_histograms_as_one_family_and_promtool_accepts_the_text():
    rec = _recorded()
    environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
    wsgiref.util.setup_testing_defaults(environ)
    text = b"".join(metrics_wsgi_app(rec)(environ, lambda s, h: None)).decode()
    fams = {f.name: f for f in parse(text)}
    hist = fams["autobot_operation_duration_seconds"]
    assert (hist.type, hist.unit) == ("histogram", "seconds")
    assert {s.name for s in hist.samples} == {"autobot_operation_duration_seconds" + sfx
                                              for sfx in ("_bucket", "_count", "_sum")}
    assert fams["autobot_operations_in_progress"].type == "gauge"
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stdout + r.stderr
