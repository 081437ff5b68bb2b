"""Request guards of the hub's web layer: Host allowlist, Origin check, failure limiter, the
server-side session table and the plain ASGI refusals (used by :mod:`autobot_monitor.web.auth`).

- Host allowlist: a request (HTTP or WebSocket) whose ``Host`` header names no host the hub is
  configured for is refused with 400 everywhere, ``/healthz`` included. Allowed: the loopback
  names (``localhost``, ``127.0.0.1``, ``::1``), the listen address, and when that is a wildcard
  (``0.0.0.0``, ``::``) this machine's host name and interface addresses; plus
  ``auth.allowed_hosts`` (exact names, ``*.example.com`` for any subdomain, ``*`` for any Host).
  This stops DNS rebinding: a page whose domain now resolves to the hub still sends its own name.
- Origin: when a browser sends ``Origin``, it must equal the hub's own scheme, host and port
  (default ports 80/443 filled in on both sides).
- :class:`FailureLimiter`: failed logins and failed bearer tokens per client address.
- :class:`SessionTable`: live dashboard sessions, so logout, token rotation or removal end them
  at once (bounded; the oldest is dropped first; a hub restart ends every session).
"""

from __future__ import annotations

import json
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``Host``-style ``name[:port]`` / ``[v6][:port]`` -> (lower-case name without brackets or
    trailing dot, port or None); None when malformed (empty, bad port)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
    elif value.count(":") > 1:  # bare IPv6 without brackets: no port possible
        name, rest = value, ""
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if rest and (not rest.startswith(":") or not rest[1:].isdigit() or int(rest[1:]) > 65535):
        return None
    name = name.rstrip(".")
    if not name:
        return None
    return name, int(rest[1:]) if rest else None


def interface_names(listen: str) -> set[str]:
    """Names a client may use for this hub: the listen address, and for a wildcard listen this
    machine's host name and every interface address (psutil). Loopback names always."""
    names = set(LOOPBACK_NAMES)
    listen = listen.strip("[]").lower()
    if listen not in WILDCARDS:
        names.add(listen)
        return names
    names.add(socket.gethostname().lower())
    try:
        import psutil

        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                if a.family in (socket.AF_INET, socket.AF_INET6):
                    names.add(a.address.split("%", 1)[0].lower())
    except (ImportError, OSError):
        pass
    return names


class HostAllowlist:
    """``allowed(host_header)``: whether a ``Host`` header names this hub (see module doc)."""

    MAX_SEEN = 256  # answers remembered per Host header value (a config change makes a new list)

    def __init__(self, listen_names: set[str], extra: list[str] | tuple[str, ...] = ()):
        self._seen: dict[str, bool] = {}
        self.any = "*" in extra
        self.exact = {n.lower().rstrip(".") for n in listen_names}
        self.suffixes: list[str] = []
        for e in extra:
            e = e.lower().rstrip(".")
            if e.startswith("*."):
                self.suffixes.append(e[1:])
            elif e != "*":
                self.exact.add(e.strip("[]"))

    def allowed(self, host_header: str | None) -> bool:
        if self.any:
            return True
        key = host_header or ""
        known = self._seen.get(key)
        if known is None:
            if len(self._seen) >= self.MAX_SEEN:  # bounded: a flood of odd Hosts resets it
                self._seen.clear()
            known = self._seen[key] = self._allowed(key)
        return known

    def _allowed(self, host_header: str) -> bool:
        parsed = split_host(host_header)
        if parsed is None:
            return False
        name = parsed[0]
        return name in self.exact or any(name.endswith(s) for s in self.suffixes)


def same_origin(origin: str | None, scheme: str, host_header: str | None) -> bool:
    """True when ``origin`` is absent (not a browser) or names the scheme, host and port this
    request reached (``scheme`` is the ASGI scope's: ``ws``/``wss`` count as ``http``/``https``)."""
    if origin is None:
        return True
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    o_scheme, sep, o_rest = origin.strip().lower().partition("://")
    if not sep or o_scheme != scheme:
        return False
    o, h = split_host(o_rest), split_host(host_header or "")
    if o is None or h is None:
        return False
    default = DEFAULT_PORTS.get(scheme)
    return o[0] == h[0] and (o[1] or default) == (h[1] or default)


class FailureLimiter:
    """At most ``max_failures`` failures per client address in ``window`` seconds; memory is
    bounded by ``max_clients`` addresses (least recently failed forgotten first)."""

    def __init__(self, max_failures: int, window: float, max_clients: int = 10_000,
                 clock=time.monotonic):
        self.max_failures, self.window, self.max_clients = max_failures, window, max_clients
        self.clock = clock
        self._fails: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, client: str) -> list[float]:
        now = self.clock()
        times = [t for t in self._fails.get(client, []) if now - t < self.window]
        if times:
            self._fails[client] = times
        else:
            self._fails.pop(client, None)
        return times

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 when it may now)."""
        times = self._recent(client)
        if len(times) < self.max_failures:
            return 0.0
        return max(1.0, self.window - (self.clock() - times[-self.max_failures]))

    def failed(self, client: str) -> None:
        times = self._recent(client)
        times.append(self.clock())
        self._fails[client] = times[-self.max_failures:]
        self._fails.move_to_end(client)
        while len(self._fails) > self.max_clients:
            self._fails.popitem(last=False)

    def __len__(self) -> int:
        return len(self._fails)


@dataclass(frozen=True)
class Session:
    token_sha256: str  # the token the session was opened with
    expires: float  # Unix seconds


class SessionTable:
    """Live sessions by nonce (the random part of the signed cookie). A session is valid only
    while it is here: :meth:`revoke` (logout) ends it at once; at most ``max_sessions`` are
    kept, the oldest dropped first (its holder logs in again)."""

    def __init__(self, max_sessions: int = 10_000, clock=time.time):
        self.max_sessions, self.clock = max_sessions, clock
        self._live: OrderedDict[str, Session] = OrderedDict()

    def add(self, nonce: str, token_sha256: str, expires: float) -> None:
        self._live[nonce] = Session(token_sha256, expires)
        while len(self._live) > self.max_sessions:
            self._live.popitem(last=False)

    def get(self, nonce: str, now: float | None = None) -> Session | None:
        s = self._live.get(nonce)
        if s is not None and s.expires < (now or self.clock()):
            del self._live[nonce]
            return None
        return s

    def revoke(self, nonce: str) -> bool:
        return self._live.pop(nonce, None) is not None

    def __len__(self) -> int:
        return len(self._live)


# -- answers -----------------------------------------------------------------------------------
async def send_simple(send, status: int, body: bytes, ctype: bytes, extra: list | None = None):
    """One complete HTTP answer (``no-store``, ``nosniff``) through the ASGI ``send``."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


async def send_error(send, status: int, msg: str, extra: list | None = None):
    """``status`` with ``{"error": msg}`` as JSON."""
    await send_simple(send, status, json.dumps({"error": msg}).encode(), b"application/json", extra)


async def deny(scope, send, status: int, msg: str, extra: list | None = None):
    """Refuse an HTTP request or a WebSocket handshake with ``status`` and ``{"error": msg}``
    (a WebSocket gets the HTTP answer when the server offers the denial-response extension,
    else a 1008 close, which the client sees as 403)."""
    if scope["type"] == "http":
        return await send_error(send, status, msg, extra)
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        return await send({"type": "websocket.close", "code": 1008})
    body = json.dumps({"error": msg}).encode()
    await send({"type": "websocket.http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(extra or [])]})
    await send({"type": "websocket.http.response.body", "body": body})
