"""A real hub (1 s cycles) checking a real redis-server and HTTP service, shared by the deploy
tests that put nginx or Prometheus in front of it."""

from __future__ import annotations

import os
import shutil

import pytest
from deploy_support import HUB_HOST

from support import HttpServer, HubProcess, RedisServer


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory):
    """{"url", "port", "proc"}: a hub on a free port with a Redis and an HTTP check."""
    if not os.path.exists(shutil.which("redis-server") or "/usr/bin/redis-server"):
        pytest.skip("redis-server not installed (scripts/ensure-test-tools.sh installs it)")
    redis, web = RedisServer(), HttpServer()
    hub = HubProcess(tmp_path_factory.mktemp("deployhub"), {
        "local_host": {"name": HUB_HOST},
        "services": [{"name": "cache", "type": "redis", "address": redis.address, "host": HUB_HOST,
                      "databases": [0]},
                     {"name": "web", "type": "http", "url": web.url("/"), "host": HUB_HOST}]})
    try:
        hub.wait_http("/healthz", lambda r: r.json().get("last_cycle"))
        yield {"url": hub.url, "port": hub.port, "proc": hub.proc}
    finally:
        hub.stop()
        redis.stop()
        web.stop()
