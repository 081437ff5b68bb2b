"""Reports over seeded history with known answers, built from a stopped hub's data dir through
the real command line (in-process ``main``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from seed import DAY, MOUNT, PROC, STEP

from autobot_monitor.cli import main
from autobot_monitor.report.availability import outages
from autobot_monitor.report.schedule import NAME_RE, last_complete


def run(tmp_path, data_dir, period, fmt="json", name="out"):
    out = tmp_path / f"{name}.{fmt}"
    rc = main(["report", "--period", period, "--format", fmt, "--out", str(out), "--data-dir", data_dir])
    return rc, out


@pytest.fixture(scope="module")
def day_doc(seeded, tmp_path_factory):
    d, start, end = seeded
    rc, out = run(tmp_path_factory.mktemp("out"), d, f"{start:.0f}..{end:.0f}")
    assert rc == 0
    return json.loads(out.read_text()), start, end


def test_availability_exact(day_doc):
    doc, start, end = day_doc
    av = doc["availability"]
    h1 = av["hosts"]["h1"]
    assert h1["samples"] == 8640
    assert h1["uptime_percent"] == pytest.approx(100 * (8640 - 36) / 8640, abs=1e-9)
    assert h1["outage_count"] == 2
    assert h1["longest_outage_seconds"] == 300
    assert [(o["start"] - start, o["seconds"]) for o in h1["outages"]] == [(10000, 300), (50000, 60)]
    assert h1["budget_allowed_seconds"] == pytest.approx(86.4)
    assert h1["budget_left_seconds"] == pytest.approx(86.4 - 360)
    assert h1["meets_target"] is False
    assert (h1["coverage_percent"], h1["unknown_seconds"]) == (100.0, 0.0)  # watched all day
    assert (h1["up_seconds"], h1["down_seconds"]) == pytest.approx((DAY - 360, 360))
    assert doc["warning"] is None and doc["report"]["coverage"]["percent"] == 100.0
    h2 = av["hosts"]["h2"]
    assert (h2["uptime_percent"], h2["outage_count"], h2["meets_target"]) == (100.0, 0, True)
    web = av["services"]["web"]
    assert web["uptime_percent"] == pytest.approx(100 * 8630 / 8640, abs=1e-9)
    assert web["outages"] == [{"start": end - 100, "end": end, "ongoing": True, "seconds": 100}]


def test_trends_exact(day_doc):
    doc, _, _ = day_doc
    assert doc["trends"]["step_seconds"] == STEP
    cpu = doc["trends"]["hosts"]["h1"]["cpu_percent"]
    values = np.array([k % 100 for k in range(DAY // STEP)], dtype=float)
    assert cpu["p95"] == pytest.approx(float(np.percentile(values, 95)))
    assert cpu["p50"] == pytest.approx(float(np.percentile(values, 50)))
    assert cpu["max"] == 99.0
    assert cpu["previous"]["p95"] == 20.0
    assert cpu["change_p95"] == pytest.approx(cpu["p95"] - 20.0)
    rx = doc["trends"]["hosts"]["h1"]["network_receive_bytes_per_second"]
    assert rx["p95"] == 1e6  # lo (5 GB/s) excluded
    assert "gpu_utilization_percent" not in doc["trends"]["hosts"]["h1"]  # no GPU: nothing said


def test_capacity_forecast(day_doc):
    doc, _, end = day_doc
    (fs,) = doc["capacity"]["filesystems"]
    assert fs["mountpoint"] == MOUNT
    assert fs["slope_percent_per_day"] == pytest.approx(10.0, rel=1e-6)
    assert fs["full_at"] == pytest.approx(end + 4 * DAY, abs=2 * STEP)
    assert fs["threshold_at"] == pytest.approx(end + 3 * DAY, abs=2 * STEP)
    assert fs["status"] == "growing"
    (mem,) = doc["capacity"]["memory"]
    assert mem["status"] == "not growing" and mem["time_to_full_seconds"] is None


def test_bottlenecks_and_processes(day_doc):
    doc, _, _ = day_doc
    (b,) = doc["bottlenecks"]["items"]
    above = sum(1 for k in range(DAY // STEP) if k % 100 > 80)
    assert (b["resource"], b["host"], b["seconds_above"]) == ("cpu_percent", "h1", above * STEP)
    (p,) = doc["processes"]["by_cpu"]
    assert (p["name"], p["core_seconds"], p["mean_percent"]) == (PROC, 43200.0, 50.0)
    assert doc["processes"]["by_memory"][0]["mean_bytes"] == 100 * 2**20


def test_alerts_benchmarks_optimizations(day_doc):
    doc, _, _ = day_doc
    al = doc["alerts"]
    assert al["incidents"] == 2  # the one before the period is not counted
    assert al["by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 0}
    assert al["mean_time_to_resolve_seconds"] == 450.0
    assert al["history_complete"] is True
    assert doc["optimizations"] == {"recorded": False, "count": None, "events": {}, "actions": []}
    b = doc["benchmarks"]["types"]["comprehensive"]
    assert (b["score"], b["grade"], b["score_change"]) == (75.0, "B+", 5.0)
    assert [r["metric"] for r in b["regressions"]] == ["system.disk_write"]


def test_empty_period_says_no_data(seeded, tmp_path):
    d, start, _ = seeded
    rc, out = run(tmp_path, d, f"{start - 30 * DAY:.0f}..{start - 20 * DAY:.0f}")
    assert rc == 0
    doc = json.loads(out.read_text())
    h1 = doc["availability"]["hosts"]["h1"] if "h1" in doc["availability"]["hosts"] else None
    assert h1 is None  # nothing stored, nothing configured: no row
    assert doc["trends"]["hosts"] == {}
    assert doc["alerts"]["incidents"] == 0 and doc["alerts"]["mean_time_to_resolve_seconds"] is None
    assert doc["benchmarks"]["types"] == {}
    rc, html = run(tmp_path, d, f"{start - 30 * DAY:.0f}..{start - 20 * DAY:.0f}", "html")
    text = html.read_text()
    assert "no host data in this period" in text and "no benchmark run in this period" in text


def test_configured_service_without_samples_is_no_data(seeded, tmp_path):
    d, start, end = seeded
    cfg = tmp_path / "c.yaml"
    cfg.write_text("services:\n  - {name: cache, type: tcp, address: '127.0.0.1:1'}\n")
    out = tmp_path / "r.json"
    assert main(["report", "--period", f"{start:.0f}..{end:.0f}", "--format", "json", "--out", str(out),
                 "--data-dir", d, "--config", str(cfg)]) == 0
    cache = json.loads(out.read_text())["availability"]["services"]["cache"]
    assert cache["samples"] == 0 and cache["uptime_percent"] is None and cache["outage_count"] is None


def test_html_escapes_labels_and_is_self_contained(seeded, tmp_path):
    d, start, end = seeded
    rc, out = run(tmp_path, d, f"{start:.0f}..{end:.0f}", "html")
    assert rc == 0
    text = out.read_text()
    assert "<script" not in text.lower()
    assert "&lt;script&gt;evil()&lt;/script&gt;" in text
    assert "/data&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "data:image/png;base64," in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # loads nothing from anywhere
    assert "none recorded" in text  # optimizations


def test_json_round_trips(seeded, tmp_path):
    d, start, end = seeded
    rc, out = run(tmp_path, d, f"{start:.0f}..{end:.0f}")
    doc = json.loads(out.read_text())
    again = json.loads(json.dumps(doc, allow_nan=False))
    assert again == doc
    assert set(doc) == {"warning", "report", "availability", "trends", "capacity", "bottlenecks", "processes",
                        "alerts", "optimizations", "benchmarks"}


def test_pdf_renders(seeded, tmp_path):
    d, start, end = seeded
    rc, out = run(tmp_path, d, f"{start:.0f}..{end:.0f}", "pdf")
    assert rc == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type /Page\b", data))
    assert pages >= 8  # tables (sections 1-6) and the two hosts' charts
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "30", str(out), str(tmp_path / "pg")], check=True)
        assert len([p for p in os.listdir(tmp_path) if p.startswith("pg")]) == pages


def test_bad_usage_and_missing_store(seeded, tmp_path, capsys):
    d, _, _ = seeded
    assert main(["report", "--period", "fortnight", "--data-dir", d]) == 2
    assert main(["report", "--period", "now..now-1h", "--data-dir", d]) == 2
    assert main(["report", "--format", "pdf", "--data-dir", d]) == 2
    assert main(["report", "--data-dir", str(tmp_path / "nothing")]) == 1
    assert "no store" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()  # a report never creates a store


def test_outage_runs_and_schedule_periods():
    sums = {0: 1, 10: 0, 20: 0, 50: 0, 60: 1, 100: 0}
    counts = dict.fromkeys(sums, 1)
    # 10-20 down, gap of 2 steps, 50 down: one outage 10 -> 60; 100 ongoing
    assert outages(sums, counts, 10) == [
        {"start": 10, "end": 60, "ongoing": False, "seconds": 50},
        {"start": 100, "end": 110, "ongoing": True, "seconds": 10}]
    p = last_complete("weekly", 1795972102)  # Sunday 2026-11-29 17:08 UTC
    assert p.to_json()["start_iso"] == "2026-11-16T00:00:00Z"
    assert p.to_json()["end_iso"] == "2026-11-23T00:00:00Z"
    assert last_complete("daily", 1795972102).to_json()["start_iso"] == "2026-11-28T00:00:00Z"
    assert NAME_RE.match("report-weekly-20261116.html")
    for bad in ("../alerts_state.json", "report-weekly-20261116.html/..", "x.html", "report-weekly-1.sh"):
        assert not NAME_RE.match(bad)


def test_short_period_read_finer_than_recorded(seeded, tmp_path):
    """A 1-hour period read at 1 s steps (config interval 1) of history recorded every 10 s:
    durations count the recorded interval, not the step."""
    d, start, end = seeded
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 1\n")
    out = tmp_path / "r.json"
    a, b = start + 9000, start + 12600  # h1 down 10000..10300
    assert main(["report", "--period", f"{a:.0f}..{b:.0f}", "--format", "json", "--out", str(out),
                 "--data-dir", d, "--config", str(cfg)]) == 0
    doc = json.loads(out.read_text())
    assert doc["trends"]["step_seconds"] == 1
    h1 = doc["availability"]["hosts"]["h1"]
    assert (h1["outage_count"], h1["longest_outage_seconds"]) == (1, 300)
    assert doc["processes"]["by_cpu"][0]["core_seconds"] == pytest.approx(0.5 * 3600)
    cpu = next(x for x in doc["bottlenecks"]["items"] if x["resource"] == "cpu_percent")
    assert cpu["seconds_above"] == STEP * sum(1 for k in range(900, 1260) if k % 100 > 80)


def test_optimizations_with_measured_effect(seeded, tmp_path):
    d, start, end = seeded
    data = tmp_path / "d"
    shutil.copytree(d, data)
    base = {"action_id": "x1", "action": "restart_service", "target": "<b>web</b>", "host": "h1"}
    lines = [{**base, "event": "recommended", "decision": "skipped", "time": start + 10},
             {**base, "event": "applied", "time": start + 100, "ok": True, "summary": "restarted",
              "effect": {"verdict": "pending"}},
             {**base, "event": "effect", "time": start + 1000,
              "effect": {"verdict": "improved", "metric": "autobot_cpu_busy_percent", "before": 90.0,
                         "after": 45.0, "change": -45.0, "change_ratio": -0.5}},
             {**base, "event": "applied", "time": start - 100, "ok": True, "summary": "before"}]
    (data / "logs" / "optimization.log").write_text("".join(json.dumps(x) + "\n" for x in lines) + "{torn")
    rc, out = run(tmp_path, str(data), f"{start:.0f}..{end:.0f}")
    op = json.loads(out.read_text())["optimizations"]
    assert (op["recorded"], op["count"]) == (True, 1)
    assert op["events"] == {"applied": 1, "effect": 1, "recommended": 1}
    (a,) = op["actions"]
    assert (a["verdict"], a["change"], a["change_ratio"], a["target"]) == ("improved", -45.0, -0.5, "<b>web</b>")
    rc, html = run(tmp_path, str(data), f"{start:.0f}..{end:.0f}", "html")
    text = html.read_text()
    assert "&lt;b&gt;web&lt;/b&gt;" in text and "improved" in text and "<b>web" not in text
