"""The request-head limit of httpserver.protocol_settings on a real uvicorn server over real
sockets: any head over 64 KiB gets 431 whatever the write pattern; heads and bodies under it are
served."""

from __future__ import annotations

import socket
import threading

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from autobot_monitor.httpserver import MAX_HEAD_BYTES, protocol_settings
from support import free_port, wait_until


async def _ok(request):
    body = await request.body()
    return PlainTextResponse(f"ok {len(body)}")


@pytest.fixture(scope="module")
def port():
    app = Starlette(routes=[Route("/", _ok, methods=["GET", "POST"])])
    p = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=p, log_level="warning",
                                           lifespan="off", **protocol_settings()))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    wait_until(lambda: server.started, timeout=60, what="uvicorn started")
    yield p
    server.should_exit = True
    t.join(timeout=30)


def _exchange(port: int, parts: list[bytes]) -> bytes:
    """Send ``parts`` one write each (stopping when the server closes) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for part in parts:
            try:
                s.sendall(part)
            except OSError:
                break
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.startswith(b"HTTP/1.1 431"):
                got = s.recv(65536)
                if not got:
                    break
                answer += got
                if answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok 0"):
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


BIG_HEADER = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
MANY_HEADERS = (b"GET / HTTP/1.1\r\nHost: x\r\n"
                + b"".join(b"X-H%04d: %s\r\n" % (i, b"v" * 38) for i in range(2000)) + b"\r\n")
LONG_LINE = b"GET /?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("head, size", [
    (BIG_HEADER, None), (BIG_HEADER, 16 * 1024), (MANY_HEADERS, None), (LONG_LINE, None),
    (LONG_LINE, 16 * 1024), (b"\r\n" * 10 + BIG_HEADER, 1000),
], ids=["big-header-one-write", "big-header-16k-writes", "2000-headers", "long-request-line",
       "long-line-16k-writes", "leading-empty-lines-small-writes"])
def test_head_over_limit_gets_431(port, head, size):
    assert len(head) > MAX_HEAD_BYTES
    answer = _exchange(port, [head] if size is None else _chunks(head, size))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_head_at_limit_and_large_body_are_served(port):
    pad = MAX_HEAD_BYTES - len(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n")
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * pad + b"\r\n\r\n"
    assert len(head) == MAX_HEAD_BYTES
    for parts in ([head], _chunks(head, 16 * 1024), _chunks(head, 65533)):
        answer = _exchange(port, parts)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    body = b"b" * 300_000
    post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(post)
        answer = b""
        while b"ok 300000" not in answer:
            got = s.recv(65536)
            assert got, answer
            answer += got
    assert answer.startswith(b"HTTP/1.1 200 ")
