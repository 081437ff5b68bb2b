"""Reports with a real hub process: the scheduled daily report (built off the event loop, saved
under <data-dir>/reports/, served by /api/reports) and ``autobot-monitor report`` reading through
the hub's HTTP API while the hub holds the store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest

from support import HubProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hub(seeded, tmp_path_factory):
    src, start, end = seeded
    tmp = tmp_path_factory.mktemp("report-hub")
    data = tmp / "data"
    shutil.copytree(src, data)
    stem = f"report-daily-{datetime.fromtimestamp(start, UTC):%Y%m%d}"
    with HubProcess(tmp, {"local_host": {"name": "hubhost"},
                          "reports": {"schedule": "daily", "formats": ["html", "json"]}}) as hub:
        hub.wait_http("/api/reports", lambda r: {f"{stem}.html", f"{stem}.json"}
                      <= {x["name"] for x in r.json()["reports"]})
        yield {"url": hub.url, "data": data, "cfg": hub.cfg, "stem": stem, "start": start,
               "end": end}


def test_scheduled_report_is_listed_and_served(hub):
    listing = httpx.get(hub["url"] + "/api/reports").json()
    assert listing["schedule"] == "daily" and listing["last_error"] is None
    assert (hub["data"] / "reports" / f"{hub['stem']}.html").exists()
    r = httpx.get(hub["url"] + f"/api/reports/{hub['stem']}.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "<script" not in r.text.lower() and "&lt;script&gt;evil()" in r.text
    doc = httpx.get(hub["url"] + f"/api/reports/{hub['stem']}.json").json()
    assert doc["report"]["period"]["start"] == hub["start"]
    assert doc["availability"]["hosts"]["h1"]["outage_count"] == 2
    assert doc["alerts"]["mean_time_to_resolve_seconds"] == 450.0


@pytest.mark.parametrize("name", ["report-daily-20000101.html", "..%2Falerts_state.json", "metrics.db"])
def test_unknown_report_is_404(hub, name):
    r = httpx.get(hub["url"] + f"/api/reports/{name}")
    assert r.status_code == 404 and "history" not in r.text  # never the file next door


def test_cli_report_reads_through_the_running_hub(hub, tmp_path):
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "report", "--period",
                        f"{hub['start']:.0f}..{hub['end']:.0f}", "--format", "json", "--out", str(out),
                        "--data-dir", str(hub["data"]), "--config", str(hub["cfg"])],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "held by a running hub" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["report"]["source"].startswith("hub API at http://127.0.0.1:")
    h1 = doc["availability"]["hosts"]["h1"]
    assert h1["uptime_percent"] == pytest.approx(100 * (8640 - 36) / 8640, abs=1e-9)
    assert (h1["outage_count"], h1["longest_outage_seconds"]) == (2, 300)
    assert doc["processes"]["by_cpu"][0]["core_seconds"] == 43200.0
    assert doc["alerts"]["incidents"] == 2  # transitions from the hub's API
    assert doc["benchmarks"]["types"]["comprehensive"]["score"] == 75.0  # files of the data dir
