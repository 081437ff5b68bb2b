"""GPU figures end to end without a GPU: an agent answering NVML calls from a recording (the
same collector code path as the real library) is scraped by a real hub; the API and the status
table show the recorded cards, and an unsupported field stays absent rather than 0."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from support import CliProcess, HubProcess, free_port

pytestmark = pytest.mark.timeout(120)


def test_recorded_gpus_flow_from_agent_to_hub_and_status(tmp_path):
    agent_port = free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{agent_port}", "--interval", "1",
                        "--nvml-replay", "tests/fixtures/nvml/fan_not_supported.json"])
    hub = HubProcess(tmp_path, {"dashboard_enabled": False, "local_host": {"enabled": False},
                                "hosts": [{"name": "gpu-box", "address": f"127.0.0.1:{agent_port}"}]})
    url = hub.url
    try:
        r = hub.wait_http("/api/metrics/current",
                          lambda r: r.json()["hosts"].get("gpu-box", {}).get("up"))
        s = r.json()["hosts"]["gpu-box"]["summary"]
        assert s["gpu_available"] == 1
        [g] = s["gpus"]
        assert g["name"] == "NVIDIA A100-SXM4-80GB"
        assert g["memory_total_bytes"] == 85899345920 and g["memory_used_bytes"] == 5368709120
        assert g["temperature_celsius"] == 33 and g["power_watts"] == pytest.approx(61.234)
        assert g["utilization_percent"] is None  # NVML: NotSupported -> not measured, not 0
        text = httpx.get(f"http://127.0.0.1:{agent_port}/metrics").text
        assert "autobot_gpu_available 1.0" in text
        assert "autobot_gpu_utilization_percent" not in text
        assert "autobot_gpu_fan_speed_percent" not in text
        assert "autobot_gpu_temperature_celsius" in text
        out = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "status", "--url", url],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "gpu-box" in out.stdout
    finally:
        hub.stop()
        agent.stop()
