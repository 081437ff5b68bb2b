"""A real hub killed with SIGKILL mid-ingest and restarted loses at most the cycle in flight:
every cycle it had published before the kill is in the history afterwards."""

import signal

import httpx
import pytest

from support import CliProcess, free_port, wait_http, wait_until

pytestmark = pytest.mark.timeout(120)


def test_kill_9_mid_ingest_loses_at_most_the_cycle_in_flight(tmp_path):
    port = free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"monitoring_interval: 1\ndashboard_port: {port}\nlocal_host: {{name: h1}}\n")
    args = ["start", "--config", str(cfg), "--data-dir", str(tmp_path / "data")]
    url = f"http://127.0.0.1:{port}"
    hub = CliProcess(args)
    try:
        wait_http(url + "/healthz", 60, lambda r: r.json()["last_cycle"])
        seen: list[float] = []

        def four_cycles_seen() -> bool:  # every published cycle, polled 20x per interval
            t = httpx.get(url + "/healthz", timeout=2).json()["last_cycle"]
            if not seen or t != seen[-1]:
                seen.append(t)
            return len(seen) >= 4

        wait_until(four_cycles_seen, 60, 0.05, "four published cycles")
        hub.proc.send_signal(signal.SIGKILL)
        hub.proc.wait(10)
        assert len(seen) >= 3
    finally:
        hub.stop()
    hub = CliProcess(args)
    try:
        wait_http(url + "/healthz", 60, lambda r: r.json()["last_cycle"] and r.json()["last_cycle"] > seen[-1])
        r = httpx.get(url + "/api/metrics/history", timeout=10, params={
            "metric": "node_load1", "host": "h1", "start": str(seen[0] - 0.5),
            "end": str(seen[-1] + 5), "step": "1ms"}).json()
        assert r["tier"] == "raw"
        stored = [t for t, _ in r["series"][0]["points"]]
        for t in seen:  # published before the kill -> stored
            assert any(abs(t - s) < 0.002 for s in stored), (t, stored)
        # they were recovered from the write-ahead log (the head window had not been flushed)
        metrics = httpx.get(url + "/metrics", timeout=10).text
        replayed = [ln for ln in metrics.splitlines()
                    if ln.startswith("autobot_store_wal_replayed_samples_total")]
        assert replayed and float(replayed[0].split()[-1]) > 0
    finally:
        hub.stop()
