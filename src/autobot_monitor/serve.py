"""Running the hub's and the agent's HTTP servers: the listening socket, the uvicorn server whose
shutdown we drive, the event loop, and the one-line messages for start-up failures.

Imports nothing heavy at module level (uvicorn and uvloop are imported when a server is built),
so the agent process does not pay for them before parsing its flags.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
from collections.abc import Coroutine
from typing import Any

from .cmdline import fail


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``, brackets allowed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` holds a colon), inheritable.

    We bind it ourselves so a busy port is a clear error, not a traceback: raises ``SystemExit(1)``
    after printing ``cannot listen on HOST:PORT: REASON`` to stderr."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets when proto is
    # IPPROTO_TCP; without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SystemExit(fail(f"cannot listen on {host}:{port}: {e.strerror}", 1)) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def make_server(app: Any, **kw: Any) -> Any:
    """A uvicorn server whose shutdown we drive: SIGTERM/SIGINT set ``should_exit`` through the
    event loop, and uvicorn's own handlers (which re-raise the signal after serving, killing the
    process before our cleanup runs) are not installed. Its housekeeping loop ticks once a second
    instead of ten times (uvicorn's default costs ~7 ms CPU per second on an idle VM) and wakes at
    once on a shutdown signal. Request heads are bounded and HEAD is answered as GET without
    the body (:mod:`.httpserver`). ``kw`` are ``uvicorn.Config`` arguments, plus ``http``: a
    protocol class to put the head limit on (default httptools). Call inside the running loop."""
    import contextlib

    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

        async def main_loop(self) -> None:
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 10) % 864000  # on_tick does its per-second work at % 10
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)
                should_exit = await self.on_tick(counter)

    kw.setdefault("proxy_headers", False)  # uvicorn's default trusts X-Forwarded-* from 127.0.0.1
    from .httpserver import HeadAsGet, protocol_settings

    # request heads bounded (431 past 64 KiB), HEAD answered wherever GET is
    http = kw.pop("http", None)
    # a client holding an idle TLS keep-alive connection must not hold up a stop: connections
    # still open 5 s after the shutdown signal are closed (requests in flight get those 5 s)
    kw.setdefault("timeout_graceful_shutdown", 5)
    server = _Server(uvicorn.Config(HeadAsGet(app), log_config=None, access_log=False,
                                    **protocol_settings(http if isinstance(http, type) else None),
                                    **kw))
    wake = asyncio.Event()

    def _exit() -> None:
        server.should_exit = True
        wake.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _exit)
    return server


def run_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run the server's event loop: uvloop (a libuv loop, about 1.6x less CPU per request here,
    see docs/BENCHMARKS.md) when installed, else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def oserror(e: OSError) -> str:
    """``strerror: filename`` of an OSError (no errno prefix, no traceback); a TLS error names
    the certificate or key as unusable."""
    import ssl

    if isinstance(e, ssl.SSLError):
        return f"TLS certificate or key not usable ({e.reason or e})"
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or e}{where}"
