"""The HTML report in a real browser (Debian's chromium via Playwright): it loads with no console
error and no request, its charts decode, and a label carrying markup stays text."""

from __future__ import annotations

import os
import shutil

import pytest
from seed import PROC

from autobot_monitor.cli import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def test_html_report_loads_cleanly_in_chromium(seeded, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/ensure-test-tools.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    d, start, end = seeded
    out = tmp_path / "r.html"
    assert main(["report", "--period", f"{start:.0f}..{end:.0f}", "--out", str(out), "--data-dir", d]) == 0
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(out.as_uri())
            assert errors == [] and requests == []
            widths = page.eval_on_selector_all("img.chart", "els => els.map(e => e.naturalWidth)")
            assert len(widths) == 2 and all(w > 0 for w in widths)  # h1 and h2 charts decoded
            assert page.locator("script").count() == 0
            assert page.get_by_text(PROC).count() == 2  # shown as text (CPU and memory tables)
        finally:
            b.close()
