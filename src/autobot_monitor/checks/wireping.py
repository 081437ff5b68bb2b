"""Redis PING timed by the kernel: the wire's round trip, whatever the hub's CPU load.

A dedicated plain-TCP connection (no TLS: the kernel cannot see into TLS records) carries one
``PING`` per cycle. The send time is read right before ``send()``; the receive time is the
kernel's timestamp of the answer's arrival (``SO_TIMESTAMPNS``, read with ``recvmsg``), taken in
the network stack, so neither the GIL nor the scheduler's delay in waking this thread adds to it.

:meth:`WirePing.ping` is blocking (run it with ``asyncio.to_thread``); it returns seconds, or
None where the kernel gives no timestamp (then the caller keeps its own measurement). It raises
``OSError`` / :class:`~.base.CheckFailed` when the exchange fails; the connection is then dropped
and rebuilt on the next call.
"""

from __future__ import annotations

import platform
import socket
import struct
import sys
import time

from .base import CheckFailed

_PING = b"*1\r\n$4\r\nPING\r\n"
# Python's socket module does not export these; Linux's asm-generic value (x86, arm64, riscv)
_LINUX_SO_TIMESTAMPNS = 35 if sys.platform.startswith("linux") and \
    platform.machine() in ("x86_64", "aarch64", "i686", "riscv64") else None
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", _LINUX_SO_TIMESTAMPNS)
_SCM_TIMESTAMPNS = getattr(socket, "SCM_TIMESTAMPNS", _SO_TIMESTAMPNS)


def _command(*parts: str) -> bytes:
    """RESP array of bulk strings."""
    out = [f"*{len(parts)}\r\n".encode()]
    for p in parts:
        b = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class WirePing:
    """One kept connection to ``host:port`` for kernel-timed PINGs (AUTH first when a password
    is given). ``timeout`` bounds every socket operation, in seconds."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._auth: tuple[str | None, str | None] = (None, None)

    @staticmethod
    def supported() -> bool:
        return _SO_TIMESTAMPNS is not None and _SCM_TIMESTAMPNS is not None

    def _connect(self, username: str | None, password: str | None) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            if password:
                args = ("AUTH", username, password) if username else ("AUTH", password)
                sock.sendall(_command(*args))
                if not sock.recv(256).startswith(b"+OK"):
                    raise CheckFailed("AUTH refused on the timing connection")
        except BaseException:
            sock.close()
            raise
        return sock

    def ping(self, username: str | None = None, password: str | None = None) -> float | None:
        """Seconds from sending PING to the kernel receiving +PONG; None without a timestamp."""
        if self._sock is None or self._auth != (username, password):
            self.close()
            self._sock, self._auth = self._connect(username, password), (username, password)
        sock = self._sock
        try:
            t0 = time.time_ns()  # CLOCK_REALTIME, the clock SO_TIMESTAMPNS stamps with
            w0 = time.monotonic()
            sock.sendall(_PING)
            data, anc, _flags, _addr = sock.recvmsg(64, socket.CMSG_SPACE(16))
            wall = time.monotonic() - w0
        except BaseException:
            self.close()
            raise
        if not data.startswith(b"+PONG"):
            self.close()
            raise CheckFailed(f"unexpected answer to PING: {data[:40]!r}")
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPNS and len(payload) >= 16:
                sec, nsec = struct.unpack("qq", payload[:16])
                rtt = (sec * 1_000_000_000 + nsec - t0) / 1e9
                # a realtime clock step between the two readings: trust the wall time instead
                return rtt if 0 < rtt <= wall + 1e-3 else None
        return None

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
