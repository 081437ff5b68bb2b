"""Settings shared by the hub's and the agent's uvicorn servers: a bound on a request's head
(request line plus headers) and HEAD answered wherever GET is.

Header limit: uvicorn's httptools protocol has none (a 40 MB header was buffered and answered 200,
before the application and so before access control ran). :class:`HeadLimitedHttpTools` counts the
bytes received while a request's head is incomplete and, past :data:`MAX_HEAD_BYTES`, answers
``431 Request Header Fields Too Large`` and closes the connection. Each read is measured before
the parser sees it: the bytes up to the head's blank line (``\\r\\n\\r\\n``, possibly split across
reads), or all of it while the head is unfinished, so a head over the limit is refused whatever
the write pattern (one write, small writes, many short headers, a long request line) and a body is
never taken for a head. A second request pipelined in the same read as the end of the previous one
starts being counted at the next read. Without httptools, uvicorn's h11 protocol gets the same
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


def protocol_settings(base: type | None = None) -> dict[str, Any]:
    """uvicorn.Config keyword arguments that bound the request head: ``base`` (a subclass of
    uvicorn's HttpToolsProtocol, such as :class:`.web.serving.CorkedHttpToolsProtocol`) or the
    plain httptools protocol with the limit when httptools is installed, else h11 with its
    incomplete-event limit."""
    if base is None:
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
        except ImportError:
            return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD_BYTES}
    return {"http": _limited(base)}


_CLASSES: dict[type, type] = {}


def _limited(base: type) -> type:
    """``base`` (uvicorn's HttpToolsProtocol or a subclass) with the head limit; built once per
    base."""
    if base in _CLASSES:
        return _CLASSES[base]

    class HeadLimitedHttpTools(base):  # type: ignore[misc, valid-type]
        """HttpToolsProtocol refusing a request head over :data:`MAX_HEAD_BYTES` with 431."""

        _in_head = True  # the next bytes belong to a request head
        _head_bytes = 0  # bytes of the current head received so far
        _tail: bytes | None = None  # last bytes of the head once its request line began

        def data_received(self, data: bytes) -> None:
            if self._in_head and not self.transport.is_closing():
                n = self._head_part(data)
                if self._head_bytes + n > MAX_HEAD_BYTES:
                    self._refuse()
                    return
                self._head_bytes += n
            super().data_received(data)

        def _head_part(self, data: bytes) -> int:
            """Bytes of ``data`` that belong to the current head: up to its blank line, or all.
            Empty lines before a request line (which the parser skips) count but end nothing."""
            skipped = 0
            if self._tail is None:
                skipped = len(data) - len(data.lstrip(b"\r\n"))
                if skipped == len(data):
                    return skipped
                data, self._tail = data[skipped:], b""
            probe = self._tail + data
            end = _blank_line_end(probe)
            self._tail = probe[-3:]
            return skipped + (len(data) if end < 0 else end - (len(probe) - len(data)))

        def _refuse(self) -> None:
            """Answer 431 and close, before the parser buffers any of the oversized head."""
            self._in_head = False
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: " + str(len(_REFUSAL)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + _REFUSAL)
            self.transport.close()

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head, self._head_bytes, self._tail = True, 0, None
            super().on_message_complete()

    _CLASSES[base] = HeadLimitedHttpTools
    return HeadLimitedHttpTools


def _blank_line_end(buf: bytes) -> int:
    """Index just past the first blank line (``\\r\\n\\r\\n`` or a bare ``\\n\\n``) in ``buf``,
    which ends a request head; -1 when there is none."""
    ends = [i + k for i, k in ((buf.find(b"\n\r\n"), 3), (buf.find(b"\n\n"), 2)) if i >= 0]
    return min(ends) if ends else -1


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
