"""No lost scrapes on a healthy network: real hubs at 1 s and 2 s intervals scraping one real agent
on loopback lose none (the long run over 1-15 s intervals is bench/scrape_loss.py)."""

from __future__ import annotations

import httpx
import pytest

from autobot_monitor.exposition import parse
from support import CliProcess, free_port, wait_http

pytestmark = pytest.mark.timeout(180)


def test_hubs_at_several_intervals_lose_no_scrape(tmp_path):
    aport = free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{aport}", "--interval", "1",
                        "--log-level", "WARNING"])
    hubs = []
    try:
        wait_http(f"http://127.0.0.1:{aport}/metrics", 60)
        for interval, cycles in ((1, 6), (2, 3)):
            port = free_port()
            cfg = tmp_path / f"hub{interval}.yaml"
            cfg.write_text(f"monitoring_interval: {interval}\ndashboard_port: {port}\n"
                           f"local_host: {{enabled: false}}\nscrape: {{timeout: {interval - 0.1}}}\n"
                           f"logging: {{performance_jsonl: false}}\n"
                           f"hosts:\n  - {{name: a1, address: '127.0.0.1:{aport}'}}\n")
            hubs.append((CliProcess(["start", "--config", str(cfg), "--data-dir",
                                     str(tmp_path / f"data{interval}")]),
                         f"http://127.0.0.1:{port}", cycles))
        for _, url, cycles in hubs:
            wait_http(f"{url}/api/system/status", 90, lambda r, n=cycles: r.json()["cycles"] >= n)
        for hub, url, cycles in hubs:
            fams = parse(httpx.get(f"{url}/metrics", timeout=10).text)
            samples = {s.name: s for f in fams for s in f.samples}
            assert samples["up"].value == 1.0
            assert "autobot_scrape_failures_total" not in samples, hub.output()
            card = httpx.get(f"{url}/api/metrics/current", timeout=10).json()["hosts"]["a1"]
            assert card["scrape_failures_recent"] == 0 and card["scrape_window"] >= cycles
            assert "failed" not in hub.output()
    finally:
        for hub, _, _ in hubs:
            hub.stop()
        agent.stop()
