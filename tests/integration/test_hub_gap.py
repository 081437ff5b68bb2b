"""A real hub stopped and started again on the same data dir: the history API answers null for
the steps it was not running, a counter's rate does not jump when it resumes, and the 24 h
availability of its host says how little of the day was monitored."""

from __future__ import annotations

import httpx
import pytest

from support import CliProcess, free_port, wait_http

pytestmark = pytest.mark.timeout(180)


def start(cfg, data) -> CliProcess:
    return CliProcess(["start", "--config", str(cfg), "--data-dir", str(data)])


def test_hub_restart_leaves_a_null_hole_and_coverage_counts_unknown(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"monitoring_interval: 1\ndashboard_port: {port}\nlocal_host: {{name: gh}}\n")
    proc = start(cfg, tmp_path / "data")
    try:
        r = wait_http(url + "/api/system/status", 90, lambda r: r.json()["cycles"] >= 4
                      and r.json()["hosts"]["gh"]["coverage_24h_percent"])
        h = r.json()["hosts"]["gh"]
        assert h["availability_24h_percent"] == 100.0
        assert 0 < h["coverage_24h_percent"] < 1  # seconds of a day, not "100 % of the day"
        assert h["up_24h_seconds"] > 0 and h["down_24h_seconds"] == 0
        assert h["unknown_24h_seconds"] == pytest.approx(86400 - h["up_24h_seconds"])
        first_stop = r.json()["timestamp"]
    finally:
        proc.stop()
    proc = start(cfg, tmp_path / "data")
    try:
        r = wait_http(url + "/api/system/status", 90, lambda r: r.json()["cycles"] >= 4)
        now = r.json()["timestamp"]
        q = {"metric": "autobot_hub_cycle_duration_seconds", "start": repr(first_stop - 30),
             "end": repr(now), "step": "1"}
        pts = httpx.get(url + "/api/metrics/history", params=q, timeout=30).json()["series"][0]["points"]
        vals = [v for _, v in pts]
        first, last = vals.index(next(v for v in vals if v is not None)), len(vals) - 1
        while vals[last] is None:
            last -= 1
        inner = vals[first:last + 1]
        assert None in inner, "the stopped hub left no hole"  # a null between two measured steps
        q.update(metric="autobot_hub_samples_stored_total", fn="rate")
        rates = [v for _, v in httpx.get(url + "/api/metrics/history", params=q, timeout=30)
                 .json()["series"][0]["points"] if v is not None]
        assert rates and max(rates) <= 3 * sorted(rates)[len(rates) // 2]  # no jump at the restart
    finally:
        proc.stop()
