"""TCP service check (``TcpService``): open a connection to ``address`` and close it.

Up when the connection opens. ``[v6]:PORT`` addresses are supported. Nothing is sent.

Response time: the handshake's round trip as the kernel measured it (Linux ``TCP_INFO``
``tcpi_rtt`` right after connect: the SYN to SYN-ACK time, stamped in the network stack), so
neither the hub's CPU load nor its scheduling can add to it; ``details.timing`` says
``kernel_rtt``. Where the kernel does not tell (other systems), the wall time around the connect
(DNS resolution included when ``address`` names a host), ``details.timing`` ``wall``;
``details.connect_wall_seconds`` is that wall time in both cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from ..config.models import TcpService
from .base import Check, ServiceResult, split_hostport

# struct tcp_info (linux/tcp.h): 8 one-byte fields, then u32s; tcpi_rtt (µs) is the 16th u32
_TCPI_RTT_OFFSET = 8 + 15 * 4


def kernel_rtt(sock) -> float | None:
    """Seconds: the kernel's smoothed round-trip time of a connected TCP socket (right after the
    handshake: the handshake's own RTT), or None where ``TCP_INFO`` is not available."""
    opt = getattr(socket, "TCP_INFO", None)
    if sock is None or opt is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, opt, 104)
    except (OSError, ValueError):
        return None
    if len(raw) < _TCPI_RTT_OFFSET + 4:
        return None
    (rtt_us,) = struct.unpack_from("I", raw, _TCPI_RTT_OFFSET)
    return rtt_us / 1e6 if rtt_us > 0 else None


class TcpCheck(Check):
    """Check for one :class:`TcpService`; keeps no connection between cycles."""

    async def check(self) -> ServiceResult:
        svc: TcpService = self.svc
        host, port = split_hostport(svc.address)
        t0 = self.clock.monotonic()
        _reader, writer = await asyncio.open_connection(host, port)
        elapsed = self.clock.monotonic() - t0
        rtt = kernel_rtt(writer.get_extra_info("socket"))
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        details = {"address": svc.address, "connect_wall_seconds": elapsed,
                   "timing": "kernel_rtt" if rtt is not None else "wall"}
        return self.result(True, response_time_seconds=rtt if rtt is not None else elapsed,
                           details=details)
