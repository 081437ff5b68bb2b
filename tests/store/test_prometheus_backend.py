"""storage.backend: prometheus against a real Prometheus scraping a real agent, with the scrape
config written by ``autobot-monitor export-prometheus-config``; and ``autobot-monitor export``."""

import csv
import io
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from autobot_monitor.errors import QueryError
from autobot_monitor.store import parse_matcher
from autobot_monitor.store.prometheus import PrometheusStore
from support import CliProcess, free_port, wait_http, wait_until

PROMETHEUS = shutil.which("prometheus")
pytestmark = [pytest.mark.timeout(150),
              pytest.mark.skipif(PROMETHEUS is None, reason="prometheus binary not installed")]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "autobot_monitor.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_hub_reads_history_through_a_real_prometheus(tmp_path):
    agent_port, hub_port, prom_port = free_port(), free_port(), free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{agent_port}", "--interval", "1"])
    prom_url = f"http://127.0.0.1:{prom_port}"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""monitoring_interval: 1
dashboard_port: {hub_port}
local_host: {{name: hub-host}}
hosts: [{{name: agent-1, address: "127.0.0.1:{agent_port}", role: worker}}]
storage: {{backend: prometheus, prometheus_url: "{prom_url}"}}
""")
    r = cli("export-prometheus-config", "--config", str(cfg), "--output", str(tmp_path / "prom.yml"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "prom.yml").read_text()
    assert f"127.0.0.1:{agent_port}" in text and "scrape_interval: 1s" in text and "host: agent-1" in text
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prom.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hub = None
    try:
        wait_http(prom_url + "/-/ready", 60)
        store = PrometheusStore(prom_url)
        wait_until(lambda: sum(v is not None for _, v in store.query_range(
            "node_load1", {"host": "agent-1"}, time.time() - 60, time.time(), 1)[0].points) >= 4,
            60, 0.5, "4 scrapes")  # steps before the first scrape are null
        now = time.time()
        res = store.query("node_cpu_seconds_total", [parse_matcher("host=agent-1"),
                                                      parse_matcher("mode=~idle|user")], now - 30, now, 5,
                          fn="rate")
        assert res.tier == "prometheus" and {s.labels["mode"] for s in res.series} == {"idle", "user"}
        assert all(v >= 0 for s in res.series for _, v in s.points if v is not None)
        assert "node_load1" in store.metric_names()
        assert store.mean("up", {"job": "autobot-agent"}, now - 30, now) == 1.0
        with pytest.raises(QueryError):
            store.query("node_load1", {}, now, now - 10, 1)
        hub = CliProcess(["start", "--config", str(cfg), "--data-dir", str(tmp_path / "data")])
        url = f"http://127.0.0.1:{hub_port}"
        wait_http(url + "/healthz", 60, lambda r: r.json()["last_cycle"])
        h = httpx.get(url + "/api/metrics/history", params={"metric": "node_load1", "host": "agent-1",
                                                             "start": "now-1m", "step": "1s"}, timeout=10).json()
        assert h["tier"] == "prometheus" and h["series"][0]["points"]
        r = cli("export", "--url", url, "--metric", "node_load1", "--host", "agent-1", "--start", "now-1m",
                "--step", "1s", "--format", "csv")
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        assert rows and rows[0]["metric"] == "node_load1" and "host=agent-1" in rows[0]["labels"]
        bad = cli("export", "--url", url, "--metric", "node_load1", "--match", "host=~(")
        assert bad.returncode == 2 and "regular expression" in bad.stderr
    finally:
        if hub is not None:
            hub.stop()
        prom.terminate()
        prom.wait(20)
        agent.stop()
