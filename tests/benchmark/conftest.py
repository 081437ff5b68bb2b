"""Real local targets for the benchmark tests: an HTTP server and a redis-server of their own."""

import os
import shutil

import pytest

from support import HttpServer, RedisServer


@pytest.fixture
def http_server():
    s = HttpServer()
    yield s
    s.stop()


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server") and not os.path.exists("/usr/bin/redis-server"):
        pytest.skip("redis-server not installed")
    s = RedisServer()
    yield s
    s.stop()
