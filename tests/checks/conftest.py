"""Real components for the service-check tests: redis-server processes on free ports (in tmp
dirs, no persistence), a threaded HTTP server, a TCP listener and a closed port."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REDIS_SERVER = "/usr/bin/redis-server"
needs_redis = pytest.mark.skipif(not os.path.exists(REDIS_SERVER), reason="redis-server not installed")


def free_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RedisProc:
    """A redis-server this test suite spawned (and so may flush, stop, restart)."""

    def __init__(self, extra: list[str] | None = None, password: str | None = None):
        self.dir = tempfile.mkdtemp(prefix="autobot-redis-")
        self.port = free_port()
        self.password = password
        self.extra = list(extra or [])
        if password:
            self.extra += ["--requirepass", password]
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--daemonize", "no",
                "--logfile", os.path.join(self.dir, "redis.log"), *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_factory() -> Iterator:
    """``make(extra=None, password=None) -> RedisProc`` (started); all stopped at teardown."""
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server not installed")
    procs: list[RedisProc] = []

    def make(extra: list[str] | None = None, password: str | None = None) -> RedisProc:
        p = RedisProc(extra, password)
        procs.append(p)
        p.start()
        return p

    yield make
    for p in procs:
        p.cleanup()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisProc]:
    """One plain redis-server shared by a test module."""
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server not installed")
    p = RedisProc()
    p.start()
    yield p
    p.cleanup()


@pytest.fixture(scope="module")
def redis_auth_server() -> Iterator[RedisProc]:
    """A redis-server with ``--requirepass`` (random password in ``.password``)."""
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server not installed")
    p = RedisProc(password="pw-" + secrets.token_hex(12))
    p.start()
    yield p
    p.cleanup()


class _Handler(BaseHTTPRequestHandler):
    release: threading.Event
    state: HttpServer

    def _reply(self, body: bool) -> None:
        path = self.path.split("?")[0]
        if path == "/slow":
            with self.state.lock:
                self.state.slow_inflight += 1
                self.state.slow_max = max(self.state.slow_max, self.state.slow_inflight)
            try:
                self.release.wait(10)
            finally:
                with self.state.lock:
                    self.state.slow_inflight -= 1
            code, payload = 200, b"slow"
        elif path == "/ok":
            code, payload = 200, b"ok" * 1000
        elif path == "/fail":
            code, payload = 500, b"boom"
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif path == "/auth":
            code, payload = (200, b"in") if self.headers.get("Authorization") else (401, b"no")
        else:
            code, payload = 404, b"missing"
        self.send_response(code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._reply(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(False)

    def log_message(self, *args) -> None:
        pass


class HttpServer:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.slow_inflight = 0
        self.slow_max = 0  # most /slow requests waiting at the same time
        handler = type("Handler", (_Handler,), {"release": self.release, "state": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpServer]:
    """Endpoints: /ok 200, /fail 500, /slow (sleeps up to 10 s), /redirect 302, /auth 200 with an
    Authorization header else 401."""
    s = HttpServer()
    yield s
    s.close()


@pytest.fixture
def tcp_listener() -> Iterator[str]:
    """HOST:PORT of a listening socket (connections complete in the backlog)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def tcp6_listener() -> Iterator[str]:
    """``[::1]:PORT`` of a listening IPv6 socket; skips where IPv6 loopback is unavailable."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    with s:
        s.listen(16)
        yield f"[::1]:{s.getsockname()[1]}"


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    return free_port()
