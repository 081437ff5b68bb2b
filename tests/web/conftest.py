"""A real hub process (1 s cycles) with a real HTTP service, and Debian's chromium driven by
Playwright. Browser tests are skipped when chromium or Playwright is missing."""

from __future__ import annotations

import os
import shutil

import pytest

from support import HttpServer, HubProcess

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
def narrow_page(browser):
    ctx = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    yield Page(ctx.new_page())
    ctx.close()
