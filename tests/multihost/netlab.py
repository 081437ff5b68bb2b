"""Real test hosts as Linux network namespaces: a switch namespace with a bridge, one namespace per
host joined to it by a veth pair, addresses in a private 10.x.y.0/24 picked per run. Names carry
a random suffix so parallel runs never collide; :meth:`Lab.close` kills the processes it started
and deletes every namespace (which deletes the veths and taps too).

:func:`enter_netns` moves the *calling thread* into a namespace (``setns``), so a test can talk to
a process listening on loopback inside a namespace from a dedicated thread.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import httpx

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace ``name`` (from ``ip netns add``)."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def ip(*args: str) -> None:
    """Run ``ip ARGS`` (argv list); raises CalledProcessError with its stderr."""
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def can_make_netns() -> str | None:
    """None when namespaces can be made here, else the reason to skip."""
    if os.geteuid() != 0:
        return "network namespace tests need root (ip netns add)"
    name = f"abm-probe-{secrets.token_hex(3)}"
    try:
        ip("netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"cannot create a network namespace here: {getattr(e, 'stderr', e)}"
    ip("netns", "del", name)
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun for the userspace link emulator"
    return None


class Lab:
    """A bridge plus hosts. ``subnet`` is ``10.A.B`` (the /24's first three octets)."""

    def __init__(self):
        self.tag = secrets.token_hex(3)
        self.subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"
        self.switch = f"abm-{self.tag}-sw"
        self.namespaces: list[str] = []
        self.procs: list[tuple[subprocess.Popen, object]] = []
        self.tmp = tempfile.mkdtemp(prefix=f"abm-{self.tag}-")
        self._add_ns(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def _add_ns(self, ns: str) -> None:
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def ns(self, host: str) -> str:
        return f"abm-{self.tag}-{host}"

    def add_host(self, host: str, index: int) -> str:
        """Namespace for ``host`` with ``eth0`` = ``SUBNET.index/24`` on the bridge; its address."""
        ns = self.ns(host)
        self._add_ns(ns)
        port = f"p{index}"
        ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
           "netns", self.switch)
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        addr = f"{self.subnet}.{index}"
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        return addr

    def set_link(self, host: str, up: bool) -> None:
        ip("-n", self.ns(host), "link", "set", "eth0", "up" if up else "down")

    def spawn(self, host: str, argv: list[str], env: dict | None = None,
              log_name: str | None = None) -> subprocess.Popen:
        """Run ``argv`` inside ``host``'s namespace, output to a log file in the lab's tmp dir."""
        log = open(os.path.join(self.tmp, f"{log_name or host}.log"), "ab")  # noqa: SIM115
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *argv], stdout=log,
                             stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.procs.append((p, log))
        return p

    def cli(self, host: str, args: list[str], env: dict | None = None,
            log_name: str | None = None) -> subprocess.Popen:
        return self.spawn(host, [sys.executable, "-m", "autobot_monitor.cli", *args], env, log_name)

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def client(self, host: str) -> NsClient:
        return NsClient(self.ns(host))

    def close(self) -> None:
        for p, _ in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p, log in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            log.close()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class NsClient:
    """HTTP from a thread living in a namespace: ``get(url)`` / ``post(url)`` like httpx."""

    def __init__(self, ns: str):
        self._pool = ThreadPoolExecutor(1, initializer=enter_netns, initargs=(ns,))
        self._client: httpx.Client | None = None

    def run(self, fn):
        """``fn(client)`` in the namespace's thread; its result."""
        def call():
            if self._client is None:
                self._client = httpx.Client(timeout=10)
            return fn(self._client)
        return self._pool.submit(call).result()

    def _call(self, method: str, url: str, **kw) -> httpx.Response:
        return self.run(lambda c: c.request(method, url, **kw))

    def get(self, url: str, **kw) -> httpx.Response:
        return self._call("GET", url, **kw)

    def post(self, url: str, **kw) -> httpx.Response:
        return self._call("POST", url, **kw)

    def close(self) -> None:
        if self._client is not None:
            self._pool.submit(self._client.close).result()
        self._pool.shutdown()
