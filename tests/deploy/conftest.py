"""A real hub (1 s cycles) checking a real redis-server and HTTP service, shared by the deploy
tests that put nginx or Prometheus in front of it."""

from __future__ import annotations

import os
import shutil

import pytest
from deploy_support import HUB_HOST

from support import CliProcess, HttpServer, RedisServer, free_port, wait_http


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory):
    """{"url", "port", "proc"}: a hub on a free port with a Redis and an HTTP check."""
    if not os.path.exists(shutil.which("redis-server") or "/usr/bin/redis-server"):
        pytest.skip("redis-server not installed (scripts/ensure-test-tools.sh installs it)")
    tmp = tmp_path_factory.mktemp("deployhub")
    redis, web = RedisServer(), HttpServer()
    port = free_port()
    cfg = tmp / "monitoring_config.yaml"
    cfg.write_text(f"""
monitoring_interval: 1
dashboard_port: {port}
local_host: {{name: {HUB_HOST}}}
services:
  - {{name: cache, type: redis, address: "{redis.address}", host: {HUB_HOST}, databases: [0]}}
  - {{name: web, type: http, url: "{web.url('/')}", host: {HUB_HOST}}}
""")
    proc = CliProcess(["start", "--config", str(cfg), "--data-dir", str(tmp / "data")])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", 60, lambda r: r.json().get("last_cycle"))
    except AssertionError:
        print(proc.output())
        proc.stop()
        redis.stop()
        web.stop()
        raise
    yield {"url": url, "port": port, "proc": proc}
    proc.stop()
    redis.stop()
    web.stop()
