"""Shared helpers for tests that run real processes over real sockets."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
import yaml

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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still exists and is not a zombie (a zombie is gone for a test:
    it runs nothing and only waits to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


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


@contextlib.contextmanager
def _sigint_for_children():
    """A test runner started in the background of a non-interactive shell (``make test &``, nohup)
    ignores SIGINT, and children inherit an ignored signal across exec: Ctrl-C tests would then
    test nothing. While a child starts, SIGINT gets a handler here (reset to the default on exec)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) != signal.SIG_IGN):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class CliProcess:
    """``python -m autobot_monitor.cli ARGS`` as a real child process, stderr to a file."""

    def __init__(self, args: list[str], cwd: str | None = None, env: dict | None = None):
        self.log_path = tempfile.mktemp(prefix="autobot-proc-", suffix=".log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        with _sigint_for_children():
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


HUB_DEFAULTS = {"monitoring_interval": 1}


class HubProcess:
    """The one way tests start a hub: ``autobot-monitor start`` as a real child process.

    The config is ``HUB_DEFAULTS`` (1 s cycles) with ``config``'s keys over it, and
    ``dashboard_port`` (the API's port) a free port unless ``config`` names one; it is written as
    YAML to ``tmp/monitoring_config.yaml``, the data directory is ``tmp/data`` (or ``data``).
    ``args`` are extra ``start`` arguments, ``env`` extra environment variables; ``scheme`` and
    ``verify`` are for a hub serving TLS. Use it as a context manager, or call :meth:`stop`.
    Waiting methods raise AssertionError with the hub's output when the hub does not get there.
    """

    def __init__(self, tmp, config: dict | None = None, *, args: tuple = (),
                 env: dict | None = None, scheme: str = "http", verify=True, data=None):
        self.config = {**HUB_DEFAULTS, **(config or {})}
        self.config.setdefault("dashboard_port", free_port())
        self.port: int = self.config["dashboard_port"]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = verify
        self.cfg = tmp / "monitoring_config.yaml"
        self.data = data if data is not None else tmp / "data"
        self.args, self.env = tuple(args), env
        self.write_config(self.config)
        self.proc = self._start()

    def _start(self) -> CliProcess:
        return CliProcess(["start", "--config", str(self.cfg), "--data-dir", str(self.data),
                           *self.args], env=self.env)

    def write_config(self, config: dict) -> None:
        """Write ``config`` (the whole document) as the hub's config file."""
        self.cfg.write_text(yaml.safe_dump(config, sort_keys=False))

    def get(self, path: str, **kw) -> httpx.Response:
        kw.setdefault("timeout", 10)
        return httpx.get(self.url + path, verify=self.verify, **kw)

    def cycles(self) -> int:
        """Cycles finished so far (``/api/system/status``)."""
        return self.get("/api/system/status").json()["cycles"]

    def wait_http(self, path: str, pred: Callable[[httpx.Response], object] | None = None,
                  timeout: float = 60) -> httpx.Response:
        """GET ``path`` until it answers 200 and ``pred(response)`` holds; the response."""
        def ok():
            if self.proc.proc.poll() is not None:
                return "exited"
            r = self.get(path, timeout=2)
            return r if r.status_code == 200 and (pred is None or pred(r)) else None
        try:
            r = wait_until(ok, timeout, 0.1, f"GET {path}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nhub output:\n{self.output()[-4000:]}") from None
        if r == "exited":
            raise AssertionError(f"hub exited with {self.proc.proc.returncode}:\n"
                                 f"{self.output()[-4000:]}")
        return r

    def wait_cycles(self, n: int = 1, timeout: float = 60) -> httpx.Response:
        """Wait until the hub has finished ``n`` cycles in all."""
        return self.wait_http("/api/system/status", lambda r: r.json()["cycles"] >= n, timeout)

    def wait_more_cycles(self, n: int = 1, timeout: float = 60) -> None:
        """Wait until the hub has finished ``n`` cycles more than now."""
        self.wait_cycles(self.cycles() + n, timeout)

    def output(self) -> str:
        return self.proc.output()

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    @property
    def pid(self) -> int:
        return self.proc.proc.pid

    def poll(self) -> int | None:
        """The exit status once the hub has exited, else None."""
        return self.proc.proc.poll()

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the hub to exit; its exit status
        (subprocess.TimeoutExpired when it is still running)."""
        return self.proc.proc.wait(timeout)

    def restart(self) -> None:
        """Start the hub again (same config and data) after it has stopped."""
        self.proc = self._start()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        return self.proc.stop(sig)

    def __enter__(self) -> HubProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


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
