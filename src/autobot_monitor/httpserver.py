"""Settings shared by the hub's and the agent's uvicorn servers: a bound on a request's head
(request line plus headers) and HEAD answered wherever GET is.

Header limit: uvicorn's httptools protocol has none (a 40 MB header was buffered and answered 200,
before the application and so before access control ran). :class:`HeadLimitedHttpTools` counts the
bytes received while a request's head is incomplete and, past :data:`MAX_HEAD_BYTES`, answers
``431 Request Header Fields Too Large`` and closes the connection: memory held for a head stays
below the limit plus two socket reads (a read in which a head or a message ends is not counted,
so a large body is never taken for a large head). Without httptools, uvicorn's h11 protocol gets the same
limit through ``h11_max_incomplete_event_size`` (it answers 400).

HEAD: FastAPI routes declared with GET answer HEAD with 405. :class:`HeadAsGet` runs a HEAD
request as GET and sends the status and headers (``content-length`` included) without the body,
as RFC 9110 section 9.3.2 asks.
"""

from __future__ import annotations

from typing import Any

MAX_HEAD_BYTES = 64 * 1024
"""Most bytes a request line plus headers may take (nginx's default is 4 x 8 KiB buffers)."""

_REFUSAL = b"request head (request line and headers) larger than 65536 bytes\n"


def protocol_settings() -> dict[str, Any]:
    """uvicorn.Config keyword arguments that bound the request head: the limited httptools
    protocol when httptools is installed, else h11 with its incomplete-event limit."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD_BYTES}
    return {"http": _limited(HttpToolsProtocol)}


_CLASS: type | None = None


def _limited(base: type) -> type:
    """``base`` (uvicorn's HttpToolsProtocol) with the head limit; built once."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS

    class HeadLimitedHttpTools(base):  # type: ignore[misc, valid-type]
        """HttpToolsProtocol refusing a request head over :data:`MAX_HEAD_BYTES` with 431."""

        _in_head = True
        _boundary = False  # a head or a message ended in the chunk being parsed
        _head_bytes = 0

        def data_received(self, data: bytes) -> None:
            self._boundary = False
            super().data_received(data)
            if self._boundary or not self._in_head or self.transport.is_closing():
                return  # a chunk where a head or a message ended is not counted
            self._head_bytes += len(data)  # all of it went into a head still unfinished
            if self._head_bytes > MAX_HEAD_BYTES:
                self._in_head = False
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: " + str(len(_REFUSAL)).encode() + b"\r\n"
                    b"connection: close\r\n\r\n" + _REFUSAL)
                self.transport.close()

        def on_headers_complete(self) -> None:
            self._in_head, self._boundary = False, True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head, self._head_bytes, self._boundary = True, 0, True
            super().on_message_complete()

    _CLASS = HeadLimitedHttpTools
    return _CLASS


class HeadAsGet:
    """ASGI wrapper: a HEAD request runs the GET handler; body chunks are dropped."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: dict) -> None:
            if message.get("type") == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
