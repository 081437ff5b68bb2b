"""Bounded TCP throughput test between hosts, served by the agent (iperf3-like, over its own port).

* ``GET /api/v1/throughput/stream?duration=S&max_bytes=N``: the agent streams zeros as one HTTP/1.1
  response body over one TCP connection until ``duration`` seconds (default 2, at most
  :data:`MAX_DURATION_S`) or ``max_bytes`` (default 256 MiB, at most :data:`MAX_BYTES`) is reached,
  whichever comes first. The receiver times it (:func:`download`).
* ``POST /api/v1/throughput?peer=NAME[&duration=S&max_bytes=N]``: the agent itself downloads from
  peer ``NAME``'s stream endpoint (its ``--peer`` list; the agent's own token is sent, so peers
  share one token) and answers the result: the throughput from the peer to this agent.

One test at a time per agent (both kinds): a second one is answered 409 ``{"error": ...}`` while
one runs. Bad parameters: 400. The result (``download``) is ``{bytes, seconds, bytes_per_second,
megabytes_per_second, method}``, MB = 10**6 bytes, timed with :func:`time.perf_counter` from the
first to the last byte received (so connection set-up and the HTTP request are not counted).
"""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

MAX_DURATION_S = 10.0
DEFAULT_DURATION_S = 2.0
MAX_BYTES = 1 << 30
DEFAULT_BYTES = 256 << 20
CHUNK = b"\0" * (256 << 10)
METHOD = ("tcp-stream: HTTP/1.1 body of zeros over one TCP connection, timed by the receiver "
          "(perf_counter, first to last byte)")


def _params(req: Request) -> tuple[float, int]:
    """(duration seconds, byte cap) from the query; raises ``ValueError`` with the reason."""
    try:
        duration = float(req.query_params.get("duration", DEFAULT_DURATION_S))
        max_bytes = int(req.query_params.get("max_bytes", DEFAULT_BYTES))
    except ValueError:
        raise ValueError("duration must be a number of seconds, max_bytes an integer") from None
    if not 0 < duration <= MAX_DURATION_S:
        raise ValueError(f"duration must be in (0, {MAX_DURATION_S:g}] seconds")
    if not 0 < max_bytes <= MAX_BYTES:
        raise ValueError(f"max_bytes must be in (0, {MAX_BYTES}]")
    return duration, max_bytes


def result(nbytes: int, seconds: float) -> dict:
    """The result dict for ``nbytes`` received in ``seconds`` (rates None when nothing timed)."""
    bps = nbytes / seconds if seconds > 0 and nbytes > 0 else None
    return {"bytes": nbytes, "seconds": seconds, "bytes_per_second": bps,
            "megabytes_per_second": bps / 1e6 if bps is not None else None, "method": METHOD}


def download(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> dict:
    """Read a stream endpoint ``url`` to its end (blocking). Raises ``httpx.HTTPError`` on
    transport errors and ``httpx.HTTPStatusError`` on a non-200 answer (409: a test runs)."""
    with client.stream("GET", url, headers=headers) as r:
        if r.status_code != 200:
            r.read()
            r.raise_for_status()
        n, t0 = 0, None
        for chunk in r.iter_raw():
            if t0 is None:
                t0 = time.perf_counter()
            n += len(chunk)
        return result(n, time.perf_counter() - t0 if t0 is not None else 0.0)


async def adownload(client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> dict:
    """:func:`download` for asyncio."""
    async with client.stream("GET", url, headers=headers) as r:
        if r.status_code != 200:
            await r.aread()
            r.raise_for_status()
        n, t0 = 0, None
        async for chunk in r.aiter_raw():
            if t0 is None:
                t0 = time.perf_counter()
            n += len(chunk)
        return result(n, time.perf_counter() - t0 if t0 is not None else 0.0)


class ThroughputService:
    """The two endpoints over one "a test runs" slot. ``peers`` maps peer name -> HOST:PORT;
    ``token`` is sent to peers; ``scheme`` and ``verify`` (bool or CA file) reach them."""

    def __init__(self, peers: dict[str, str] | None = None, token: str | None = None,
                 scheme: str = "http", verify: bool | str = True):
        self.peers = peers or {}
        self.token = token
        self.scheme = scheme
        self.verify = verify
        self._busy_until = 0.0  # monotonic deadline: a stuck slot frees itself after the caps

    def _take(self, duration: float) -> bool:
        now = time.monotonic()
        if now < self._busy_until:
            return False
        self._busy_until = now + duration + 5.0
        return True

    def _release(self) -> None:
        self._busy_until = 0.0

    async def stream(self, req: Request) -> Response:
        try:
            duration, max_bytes = _params(req)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        if not self._take(duration):
            return JSONResponse({"error": "another throughput test is running"}, status_code=409)

        async def body():
            try:
                sent, t0 = 0, time.perf_counter()
                while sent < max_bytes and time.perf_counter() - t0 < duration:
                    chunk = CHUNK if max_bytes - sent >= len(CHUNK) else CHUNK[:max_bytes - sent]
                    sent += len(chunk)
                    yield chunk
            finally:
                self._release()

        return StreamingResponse(body(), media_type="application/octet-stream",
                                 headers={"Cache-Control": "no-store"})

    async def run_to_peer(self, req: Request) -> Response:
        try:
            duration, max_bytes = _params(req)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        peer = req.query_params.get("peer", "")
        if peer not in self.peers:
            return JSONResponse({"error": f"unknown peer {peer!r} (known: "
                                          f"{', '.join(sorted(self.peers)) or 'none'})"},
                                status_code=400)
        if not self._take(duration):
            return JSONResponse({"error": "another throughput test is running"}, status_code=409)
        url = (f"{self.scheme}://{self.peers[peer]}/api/v1/throughput/stream"
               f"?duration={duration:g}&max_bytes={max_bytes}")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            verify = ssl.create_default_context(cafile=self.verify) if isinstance(self.verify, str) \
                else self.verify
            async with httpx.AsyncClient(verify=verify, timeout=duration + 10) as c:
                async with asyncio.timeout(duration + 15):
                    res = await adownload(c, url, headers)
        except httpx.HTTPStatusError as e:
            return JSONResponse({"error": f"peer {peer} answered HTTP {e.response.status_code}"},
                                status_code=502)
        except (httpx.HTTPError, TimeoutError) as e:
            return JSONResponse({"error": f"peer {peer} unreachable: {type(e).__name__}"},
                                status_code=502)
        finally:
            self._release()
        return JSONResponse({"peer": peer, "direction": f"{peer} -> this agent", **res})
