"""The data dir deleted under a running hub (real process, real HTTP): /healthz turns 503 with
the reason, the hub logs it, the health score drops, and `autobot-monitor stop` still finds and
stops the process although its pid file went with the directory."""

import shutil
import subprocess
import sys

import httpx

from support import CliProcess, free_port, wait_http, wait_until


def test_deleted_data_dir_is_reported_and_stop_still_works(tmp_path):
    data, port = tmp_path / "data", free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"monitoring_interval: 1\ndashboard_port: {port}\n"
                   "collectors: {enabled: [loadavg]}\n")
    url = f"http://127.0.0.1:{port}"
    hub = CliProcess(["start", "--config", str(cfg), "--data-dir", str(data)])
    try:
        wait_http(url + "/healthz", 60, lambda r: r.json()["last_cycle"] is not None)
        before = httpx.get(url + "/api/system/status", timeout=5).json()["health_score"]
        assert (data / "hub.pid").exists()
        shutil.rmtree(data)

        r = wait_until(lambda: (x := httpx.get(url + "/healthz", timeout=5)).status_code == 503
                       and x, 60, 0.2, "/healthz 503")
        assert r.json()["status"] == "unhealthy" and "data dir was deleted" in r.json()["reason"]
        wait_until(lambda: httpx.get(url + "/api/system/status", timeout=5)
                   .json()["health_score"] < before, 30, 0.2, "a lower health score")
        metrics = httpx.get(url + "/metrics", timeout=5).text
        assert "autobot_hub_data_dir_ok 0" in metrics
        wait_until(lambda: "data dir was deleted" in hub.output(), 30, 0.2, "the log line")

        stop = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "stop",
                               "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert hub.proc.wait(30) == 0
    finally:
        hub.stop()


def test_stop_without_a_hub_says_so(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "stop", "--data-dir",
                        str(tmp_path / "none")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no running hub" in r.stderr
