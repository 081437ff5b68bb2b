"""Container names from the Docker-compatible Engine API (Docker, Podman) over a unix socket.

``GET /containers/json`` (running containers: ``[{"Id": "<64 hex>", "Names": ["/web"]}...]``) is
asked once when ids are unknown, then ``GET /containers/<id>/json`` (``{"Name": "/web"}``) for the
few still unknown. Answers are cached: a known id keeps its name while it is seen, an id no API
knows is asked again only after ``retry_s``. A missing socket is normal (no runtime) and asked
nothing; a socket that fails (refused, timeout, garbage) is left alone for ``retry_s``.
Each request has ``timeout`` seconds and a body capped at :data:`MAX_BODY` bytes. Nothing here
raises: a name that cannot be had is simply not returned.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from typing import Any

import httpx

from ..clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024
MAX_INSPECTS = 16  # per call, per socket
DEFAULT_SOCKETS = ("/run/docker.sock", "/run/podman/podman.sock")
_ID = re.compile(r"^[0-9a-f]{64}$")


class _Unusable(Exception):
    """The socket answered nothing usable (connection, timeout, status, body)."""


class _NotFound(_Unusable):
    """HTTP 404: this API does not know the container (fatal only for the listing)."""


class ContainerNamer:
    """Names for container ids (64 hex) from the API sockets ``sockets`` (paths)."""

    def __init__(self, sockets: Iterable[str], timeout: float = 1.0, retry_s: float = 60.0,
                 clock: Clock = SYSTEM_CLOCK):
        self.sockets = list(sockets)
        self.timeout = timeout
        self.retry_s = retry_s
        self.clock = clock
        self._names: dict[str, str] = {}
        self._missed: dict[str, float] = {}
        self._down: dict[str, float] = {}
        self._clients: dict[str, httpx.Client] = {}

    def names(self, cids: Iterable[str]) -> dict[str, str]:
        """``{cid: name}`` for the ids in ``cids`` some API knows (others left out)."""
        wanted = {c for c in cids if _ID.match(c)}
        now = self.clock.monotonic()
        for cache in (self._names, self._missed):
            for c in [c for c in cache if c not in wanted]:
                del cache[c]
        unknown = {c for c in wanted if c not in self._names
                   and now - self._missed.get(c, -self.retry_s) >= self.retry_s}
        if unknown:
            for sock in self._live_sockets(now):
                self._ask(sock, unknown, now)
                unknown -= self._names.keys()
                if not unknown:
                    break
            for c in unknown:
                self._missed[c] = now
        return {c: self._names[c] for c in wanted if c in self._names}

    def _live_sockets(self, now: float) -> list[str]:
        out = []
        for s in self.sockets:
            if now - self._down.get(s, -self.retry_s) < self.retry_s:
                continue
            if os.path.exists(s):
                out.append(s)
        return out

    def _ask(self, sock: str, unknown: set[str], now: float) -> None:
        try:
            listing = self._get(sock, "/containers/json")
            for item in listing if isinstance(listing, list) else []:
                self._learn(item, "Names")
            todo = sorted(c for c in unknown if c not in self._names)[:MAX_INSPECTS]
            for cid in todo:
                try:
                    self._learn(self._get(sock, f"/containers/{cid}/json"), "Name")
                except _NotFound:
                    continue
        except _Unusable as e:
            log.info("container API %s unusable for %ss: %s", sock, self.retry_s, e)
            self._down[sock] = now
            self._close(sock)

    def _learn(self, item: Any, key: str) -> None:
        if not isinstance(item, dict):
            return
        cid, raw = item.get("Id"), item.get(key)
        name = raw[0] if isinstance(raw, list) and raw else raw
        if isinstance(cid, str) and _ID.match(cid) and isinstance(name, str) and name.strip("/"):
            self._names[cid] = name.strip("/")[:256]

    def _client(self, sock: str) -> httpx.Client:
        client = self._clients.get(sock)
        if client is None:
            client = httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://localhost",
                                  timeout=self.timeout)
            self._clients[sock] = client
        return client

    def _get(self, sock: str, url: str) -> Any:
        """The JSON body of GET ``url``; raises :class:`_NotFound` on 404, :class:`_Unusable` on
        anything else that is not a 200 with a JSON body of at most :data:`MAX_BODY` bytes."""
        try:
            with self._client(sock).stream("GET", url) as resp:
                if resp.status_code == 404:
                    raise _NotFound(url)
                if resp.status_code != 200:
                    raise _Unusable(f"GET {url}: HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise _Unusable(f"GET {url}: body over {MAX_BODY} bytes")
        except httpx.HTTPError as e:
            raise _Unusable(f"GET {url}: {e!r}") from e
        try:
            return json.loads(body)
        except ValueError as e:
            raise _Unusable(f"GET {url}: not JSON") from e

    def _close(self, sock: str) -> None:
        client = self._clients.pop(sock, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        for sock in list(self._clients):
            self._close(sock)
