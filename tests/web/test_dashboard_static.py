"""The dashboard's files and headers without a browser: served at / and /static with the
security headers; the page never builds HTML from data and loads nothing from elsewhere."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autobot_monitor.web.dashboard import CSP, STATIC_DIR, mount_dashboard


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    mount_dashboard(app)
    return TestClient(app)


def test_index_and_static_files_carry_the_security_headers(client):
    for path, ctype in (("/", "text/html"), ("/static/app.js", "javascript"),
                        ("/static/style.css", "text/css"), ("/static/vendor/uPlot.iife.min.js", "javascript")):
        r = client.get(path)
        assert r.status_code == 200, path
        assert ctype in r.headers["content-type"]
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    missing = client.get("/static/nope.js")
    assert missing.status_code == 404
    assert client.head("/").status_code == 200


def test_csp_forbids_inline_script_and_other_origins():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"  # CSP 3: 'self' covers ws:/wss: to this host
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CSP


def test_missing_files_refuse_to_mount(tmp_path):
    with pytest.raises(FileNotFoundError):
        mount_dashboard(FastAPI(), tmp_path)


def test_page_source_never_builds_html_and_loads_only_local_files():
    html = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert ref.startswith("/static/") or ref == "data:,", ref
    for js in STATIC_DIR.glob("*.js"):
        src = js.read_text()
        for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                    "new Function", "http://", "https://"):
            assert bad not in src, f"{js.name} uses {bad}"


def test_charts_name_only_declared_figures_and_no_metric():
    from autobot_monitor import figures

    declared = {f["key"] for f in figures.to_json()["figures"]}
    charts = (STATIC_DIR / "charts.js").read_text()
    named = re.findall(r'figure: "([^"]+)"', charts)
    assert named and set(named) <= declared, set(named) - declared
    for js in STATIC_DIR.glob("*.js"):
        # metric names come from GET /api/figures; the map view lists autobot_mesh_* families
        found = set(re.findall(r"\b(?:autobot|node)_[a-z0-9_]+", js.read_text()))
        assert found <= {"autobot_mesh_", "autobot_csrf"}, f"{js.name} names {found}"
