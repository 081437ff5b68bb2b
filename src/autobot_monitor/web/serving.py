"""uvicorn's HTTP protocol with each response written in one syscall.

uvicorn's ``httptools`` protocol writes a response's status line and headers, then its body, as
two ``transport.write`` calls: two ``send()`` syscalls and, with ``TCP_NODELAY``, two packets
per answer. On this project's VMs a loopback ``send()`` costs tens of microseconds, about a third
of a small request's CPU. :class:`CorkedHttpToolsProtocol` hands the request cycle a
:class:`CorkedTransport` that gathers what is written during one step of the event loop and
writes it at the end of that step (``loop.call_soon``): one syscall per response. Order is kept
(every write goes through the same buffer); ``close``/``write_eof`` flush first; ``abort`` drops
the buffer. A WebSocket upgrade gets the real transport back. Memory: the buffer holds only what
one loop step wrote, and uvicorn's flow control still sees the real transport's buffer.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CorkedTransport:
    """Wraps an ``asyncio.Transport``: ``write`` buffers until the current loop step ends;
    everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._raw, self._loop = transport, loop
        self._buf: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._buf:
            self._loop.call_soon(self.flush)
        self._buf.append(bytes(data))

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Write what is buffered now (nothing when the connection is already closing)."""
        if not self._buf:
            return
        data = self._buf[0] if len(self._buf) == 1 else b"".join(self._buf)
        self._buf.clear()
        if not self._raw.is_closing():
            self._raw.write(data)

    def close(self) -> None:
        self.flush()
        self._raw.close()

    def write_eof(self) -> None:
        self.flush()
        self._raw.write_eof()

    def abort(self) -> None:
        self._buf.clear()
        self._raw.abort()

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._buf)) + self._raw.get_write_buffer_size()

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol, writing through a :class:`CorkedTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._raw_transport = transport
        self.transport = CorkedTransport(transport, self.loop)  # type: ignore[assignment]

    def handle_websocket_upgrade(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        self.transport = self._raw_transport
        super().handle_websocket_upgrade()
