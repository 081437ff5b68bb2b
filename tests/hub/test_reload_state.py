"""A real hub process keeps its collectors' rate state across reloads (SIGHUP and POST
/api/admin/reload) when the collector settings did not change: CPU % is measured in every cycle,
never n/m; with changed collector settings it says so in its log."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from support import CliProcess, free_port, wait_http, wait_until

pytestmark = pytest.mark.timeout(120)


def cpu_per_cycle(data_dir) -> list[float | None]:
    path = data_dir / "logs" / "performance" / "metrics.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [d["hosts"]["box"]["summary"].get("cpu_percent") for d in lines]


def test_reload_keeps_cpu_percent_measured(tmp_path):
    port = free_port()
    cfg = tmp_path / "c.yaml"
    base = (f"monitoring_interval: 1\ndashboard_port: {port}\ndashboard_enabled: false\n"
            "local_host: {name: box}\n")
    cfg.write_text(base + "collectors: {enabled: [cpu, memory, loadavg]}\n")
    data = tmp_path / "d"
    proc = CliProcess(["start", "--config", str(cfg), "--data-dir", str(data)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/system/status", 60, lambda r: r.json()["cycles"] >= 3)
        n0 = len(cpu_per_cycle(data))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: proc.output().count("configuration reloaded") >= 1, 30, 0.2, "SIGHUP reload")
        n1 = len(cpu_per_cycle(data))
        cfg.write_text(base + "alert_thresholds: {cpu_percent: 99}\n"
                       "collectors: {enabled: [cpu, memory, loadavg]}\n")
        r = httpx.post(url + "/api/admin/reload", timeout=10)
        assert r.status_code == 200, r.text
        n2 = len(cpu_per_cycle(data))
        wait_until(lambda: len(cpu_per_cycle(data)) >= n2 + 3, 60, 0.2, "cycles after the reloads")
        cpus = cpu_per_cycle(data)
        assert n0 >= 2 and n1 >= n0 and None not in cpus[2:], cpus  # the 1st cycle has no rate yet
        assert "collector settings changed" not in proc.output()
        cfg.write_text(base + "collectors: {enabled: [cpu, memory]}\n")
        assert httpx.post(url + "/api/admin/reload", timeout=10).status_code == 200
        wait_until(lambda: "collector settings changed: collectors rebuilt" in proc.output(), 30,
                   0.2, "the log saying the collectors were rebuilt")
    finally:
        proc.stop()
