"""A real hub process (1 s cycles) with a real HTTP service, and Debian's chromium driven by
Playwright. Browser tests are skipped when chromium or Playwright is missing."""

from __future__ import annotations

import os
import shutil
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from support import HttpServer, HubProcess

HEALTH_SCRAPE = Path(__file__).resolve().parents[1] / "fixtures" / "scrape" / "host_health.prom"

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# A host name and role carrying markup: the config accepts them (local_host.name and role are
# free text), they flow to host cards, chart legends, the map and alert summaries.
EVIL_NAME = 'hub<img src=x onerror="window.__xss=1">'
EVIL_ROLE = "<script>window.__xss=2</script>"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """{"url", "web": HttpServer, "proc": CliProcess}: a hub on a free port checking ``web``."""
    web = HttpServer()
    hub = HubProcess(tmp_path_factory.mktemp("dash"), {
        "local_host": {"name": EVIL_NAME, "role": EVIL_ROLE},
        "services": [{"name": "web", "type": "http", "url": web.url("/"), "timeout": 1}]})
    try:
        hub.wait_cycles(3)
        yield {"url": hub.url, "web": web, "proc": hub.proc}
    finally:
        hub.stop()
        web.stop()


class MetricsTarget:
    """A real HTTP target answering ``/metrics`` with a recorded agent exposition (``text``):
    what a host with PSI, systemd, a S.M.A.R.T. disk and containers answers, replayed to the
    hub's ordinary scrape path (none of those exist on the test machine)."""

    def __init__(self, text: str):
        body = text.encode()

        class H(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                ok = self.path.split("?")[0] == "/metrics"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body) if ok else 0))
                self.end_headers()
                if ok:
                    self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


HEALTH_HOST = "box-1"


@pytest.fixture(scope="module")
def health_hub(tmp_path_factory):
    """{"url", "host"}: a hub whose remote host ``box-1`` answers the recorded health scrape."""
    target = MetricsTarget(HEALTH_SCRAPE.read_text())
    hub = HubProcess(tmp_path_factory.mktemp("health"), {
        "local_host": {"name": "hub-local", "role": "hub"},
        "hosts": [{"name": HEALTH_HOST, "address": target.address, "role": "worker"}]})
    try:
        hub.wait_http("/api/metrics/current", lambda r: (r.json()["hosts"].get(HEALTH_HOST) or {})
                      .get("summary", {}).get("containers"))
        yield {"url": hub.url, "host": HEALTH_HOST}
    finally:
        hub.stop()
        target.stop()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/ensure-test-tools.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page plus the console errors and page errors it produced."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str, view: str = "overview"):
        resp = self.page.goto(f"{url}/#{view}")
        self.page.wait_for_selector("body[data-ready='1']", timeout=15000)
        return resp


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield Page(ctx.new_page())
    ctx.close()


@pytest.fixture
def phone_page(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield Page(ctx.new_page())
    ctx.close()


@pytest.fixture
def narrow_page(browser):
    ctx = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    yield Page(ctx.new_page())
    ctx.close()
