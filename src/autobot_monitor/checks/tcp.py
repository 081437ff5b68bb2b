"""TCP service check (``TcpService``): open a connection to ``address`` and close it.

Up when the connection opens; the response time is the connect time (DNS resolution included when
``address`` names a host). ``[v6]:PORT`` addresses are supported. Nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..config.models import TcpService
from .base import Check, ServiceResult, split_hostport


class TcpCheck(Check):
    """Check for one :class:`TcpService`; keeps no connection between cycles."""

    async def check(self) -> ServiceResult:
        svc: TcpService = self.svc
        host, port = split_hostport(svc.address)
        t0 = self.clock.monotonic()
        _reader, writer = await asyncio.open_connection(host, port)
        elapsed = self.clock.monotonic() - t0
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        return self.result(True, response_time_seconds=elapsed,
                           details={"address": svc.address})
