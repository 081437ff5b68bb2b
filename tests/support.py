"""Shared helpers for tests that run real processes over real sockets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PROMTOOL = shutil.which("promtool")


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(pred, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_exc})")


async def wait_until_async(pred, timeout: float = 20.0, interval: float = 0.01,
                           what: str = "condition"):
    """:func:`wait_until` for coroutines: polls ``pred()`` every ``interval`` seconds while the
    running event loop keeps going; returns its first truthy value, AssertionError after
    ``timeout`` seconds."""
    import asyncio

    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried
            last_exc = e
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_exc})")


class CliProcess:
    """``python -m autobot_monitor.cli ARGS`` as a real child process, stderr to a file."""

    def __init__(self, args: list[str], cwd: str | None = None, env: dict | None = None):
        self.log_path = tempfile.mktemp(prefix="autobot-proc-", suffix=".log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "autobot_monitor.cli", *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd,
                                     env={**os.environ, **(env or {})})

    def output(self) -> str:
        self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def wait_http(url: str, timeout: float = 30.0, pred=None) -> httpx.Response:
    def ok():
        r = httpx.get(url, timeout=2)
        return r if r.status_code == 200 and (pred is None or pred(r)) else None
    return wait_until(ok, timeout, 0.2, f"GET {url}")


class RedisServer:
    """A redis-server of the test's own on a free port (no persistence, own tmp dir)."""

    def __init__(self, *extra: str):
        self.dir = tempfile.mkdtemp(prefix="autobot-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 0.5).close() or True,
                   10, 0.05, "redis-server")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        code = 200
        if self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
        if self.path.startswith("/sleep/"):
            time.sleep(float(self.path.rsplit("/", 1)[1]))
        body = b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HttpServer:
    """A real HTTP service: ``/`` is 200, ``/status/N`` answers N, ``/sleep/S`` waits S seconds."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A real HTTP receiver recording every POST body as ``(path, json)``; ``/fail`` answers 500
    and ``/slow`` waits 3 s before answering. ``status`` answers every POST with that code (a
    receiver that is down); ``delay`` seconds are spent on every POST (a slow receiver)."""

    def __init__(self, status: int | None = None, delay: float = 0.0):
        import json as _json

        self.posts: list[tuple[str, object]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/slow":
                    time.sleep(3)
                time.sleep(delay)
                outer.posts.append((self.path, _json.loads(body or b"null")))
                self.send_response(status or (500 if self.path == "/fail" else 200))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        Thread(target=self.srv.serve_forever, daemon=True).start()
        self.port = self.srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [p for p, _ in self.posts]

    def stop(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()
