"""Access control and access log of the hub (issue 9): a pure-ASGI middleware.

Who is asking, in this order: ``Authorization: Bearer TOKEN`` (API clients, the CLI, a
WebSocket client that can set headers) or the ``autobot_session`` cookie the login page issues
(the dashboard, its fetches and its WebSocket). Tokens are configured by SHA-256 only
(``auth.tokens[].token_sha256``) or read from the environment at start (``token_env``).

What each path needs (:meth:`Authenticator.required_role`):

- ``/healthz``, ``/login``, ``/logout``, ``/static/*`` (the shipped page code, no data): open;
- ``/metrics`` and ``/api/monitoring/metrics``: open with ``auth.metrics_public``, else viewer;
- every other GET/HEAD and the WebSocket: ``viewer``; POST/PUT/PATCH/DELETE: ``admin``.

Cookie sessions are signed with HMAC-SHA256 (``name|role|expiry|nonce|mac``) under the server
secret; a state-changing request made with the cookie must carry ``X-CSRF-Token`` equal to the
``autobot_csrf`` cookie, itself an HMAC of the session nonce (double submit bound to the session).
A WebSocket opened with the cookie must come from the hub's own origin. Unauthenticated: 401
``{"error": ...}`` (a browser GET of ``/`` is redirected to ``/login``); wrong role: 403. Failed
logins are limited per client address (:class:`LoginLimiter`, bounded memory).

With no token configured everything is open (the CLI allows that on loopback only, or with
``--insecure``). Every request, open or not, is written to the access log
(``autobot_monitor.access`` logger -> ``logs/access.log``, see :mod:`autobot_monitor.logs`) as one
JSON line: time, client, who (token name or ``anonymous``), method, path (no query string),
status, duration in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from ..checks.base import register_secret
from ..errors import ConfigError

access_log = logging.getLogger("autobot_monitor.access")
log = logging.getLogger(__name__)

SESSION_COOKIE = "autobot_session"
CSRF_COOKIE = "autobot_csrf"
CSRF_HEADER = b"x-csrf-token"
ROLES = {"viewer": 1, "admin": 2}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
OPEN_PATHS = {"/healthz", "/login", "/logout"}
METRICS_PATHS = {"/metrics", "/api/monitoring/metrics"}
LOGIN_HTML = Path(__file__).with_name("static") / "login.html"
LOGIN_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
MAX_FORM = 4096


def hash_token(token: str) -> str:
    """Hex SHA-256 of a token (what ``auth.tokens[].token_sha256`` holds)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh random token (32 bytes, URL-safe base64) and its SHA-256."""
    tok = secrets.token_urlsafe(32)
    return tok, hash_token(tok)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def resolve_tokens(auth_cfg, environ=os.environ) -> dict[str, Principal]:
    """``{sha256: Principal}`` from the config; ``token_env`` values are read from ``environ``
    and registered with :func:`~..checks.base.register_secret` so no log line shows them.
    Raises :class:`ConfigError` when a named variable is unset or empty."""
    out: dict[str, Principal] = {}
    for i, t in enumerate(auth_cfg.tokens):
        digest = t.token_sha256
        if t.token_env is not None:
            value = environ.get(t.token_env, "")
            if not value:
                raise ConfigError([f"auth.tokens[{i}] ({t.name}): environment variable "
                                   f"{t.token_env} is not set"])
            register_secret(value)
            digest = hash_token(value)
        out[digest] = Principal(t.name, t.role)
    return out


class LoginLimiter:
    """At most ``max_failures`` failed logins per client address in ``window`` seconds; memory is
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


class Authenticator:
    """Token table, session signing and the rules of which path needs which role."""

    def __init__(self, auth_cfg, environ=os.environ):
        self.cfg = auth_cfg
        self.tokens = resolve_tokens(auth_cfg, environ)
        secret = environ.get(auth_cfg.secret_env, "") if auth_cfg.secret_env else ""
        if auth_cfg.secret_env and not secret:
            raise ConfigError([f"auth.secret_env: environment variable {auth_cfg.secret_env} is not set"])
        if secret:
            register_secret(secret)
        self.secret = secret.encode() or secrets.token_bytes(32)
        self.limiter = LoginLimiter(auth_cfg.login_max_failures, auth_cfg.login_window)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def required_role(self, method: str, path: str) -> str | None:
        if path in OPEN_PATHS or path.startswith("/static/"):
            return None
        if path in METRICS_PATHS and self.cfg.metrics_public:
            return None
        return "admin" if method in UNSAFE else "viewer"

    # -- tokens and sessions ---------------------------------------------------------------
    def check_token(self, token: str) -> Principal | None:
        return self.tokens.get(hash_token(token)) if token else None

    def _mac(self, data: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.secret, data.encode(), hashlib.sha256)
                                        .digest()).decode().rstrip("=")

    def issue_session(self, p: Principal, now: float | None = None) -> tuple[str, str]:
        """(session cookie value, CSRF token) for ``p``, valid ``session_ttl`` seconds."""
        nonce = secrets.token_urlsafe(16)
        exp = int((now or time.time()) + self.cfg.session_ttl)
        data = f"{p.name}|{p.role}|{exp}|{nonce}"
        return f"{data}|{self._mac(data)}", self._mac("csrf|" + nonce)

    def check_session(self, value: str, now: float | None = None) -> tuple[Principal, str] | None:
        """(principal, expected CSRF token) of a valid, unexpired session whose token still
        exists with the same role; else ``None``."""
        parts = value.split("|")
        if len(parts) != 5:
            return None
        name, role, exp, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac("|".join(parts[:4]))):
            return None
        if not exp.isdigit() or int(exp) < (now or time.time()):
            return None
        p = Principal(name, role)
        if p not in self.tokens.values():
            return None
        return p, self._mac("csrf|" + nonce)


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        k, sep, v = part.strip().partition("=")
        if sep:
            out.setdefault(k, v)
    return out


async def _send_simple(send, status: int, body: bytes, ctype: bytes, extra: list | None = None):
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send, status: int, msg: str, extra: list | None = None):
    await _send_simple(send, status, json.dumps({"error": msg}).encode(), b"application/json", extra)


class AuthMiddleware:
    """Wraps the hub's ASGI app: authenticates, authorises, serves ``/login`` and ``/logout``,
    and writes one access-log line per request or WebSocket."""

    def __init__(self, app, get_config, environ=os.environ):
        """``get_config()`` returns the current ``auth:`` section (read per request, so a
        reloaded config's tokens apply at once; the session secret and the login limiter stay).
        Raises :class:`ConfigError` when a token's environment variable is unset."""
        self.app = app
        self.get_config = get_config
        self.environ = environ
        self._cfg = get_config()
        self.auth = Authenticator(self._cfg, environ)

    def _current(self) -> Authenticator:
        cfg = self.get_config()
        if cfg != self._cfg:
            self._cfg = cfg
            try:
                new = Authenticator(cfg, self.environ)
            except ConfigError as e:
                log.error("auth config not applied, keeping the previous tokens: %s", e)
                return self.auth
            if not cfg.secret_env:
                new.secret = self.auth.secret
            new.limiter = self.auth.limiter
            self.auth = new
        return self.auth

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": None, "who": "anonymous"}

        async def send_wrapper(msg):
            t = msg["type"]
            if t == "http.response.start":
                status["code"] = msg["status"]
                if not any(k.lower() == b"x-content-type-options" for k, _ in msg.get("headers", [])):
                    msg = {**msg, "headers": [*msg.get("headers", []), (b"x-content-type-options", b"nosniff")]}
            elif t == "websocket.accept":
                status["code"] = 101
            elif t == "websocket.close" and status["code"] is None:
                status["code"] = 403
            await send(msg)

        try:
            await self._handle(scope, receive, send_wrapper, status)
        finally:
            client = scope.get("client") or ("", 0)
            access_log.info(json.dumps({
                "time": round(time.time(), 3), "client": client[0], "who": status["who"],
                "method": scope.get("method", "WS"), "path": scope.get("path", ""),
                "status": status["code"], "duration_s": round(time.perf_counter() - t0, 6)},
                separators=(",", ":")))

    async def _handle(self, scope, receive, send, status):
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        auth = self._current()
        if not auth.enabled:
            # Open mode (loopback, no tokens): still refuse cross-site browser requests, so a web
            # page open on this machine can neither change state nor read the live feed.
            if (scope["type"] == "websocket" or method in UNSAFE) and \
                    not self._same_origin(_headers(scope)):
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008})
                return await _send_error(send, 403, "cross-origin request refused")
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and path in ("/login", "/logout"):
            return await self._login(scope, receive, send, status, method, path)
        need = auth.required_role(method if scope["type"] == "http" else "GET", path)
        headers = _headers(scope)
        principal, csrf = None, None
        authz = headers.get(b"authorization", b"").decode("latin-1")
        if authz[:7].lower() == "bearer ":
            principal = auth.check_token(authz[7:].strip())
        else:
            sess = _cookies(headers).get(SESSION_COOKIE)
            found = auth.check_session(sess) if sess else None
            if found:
                principal, csrf = found
        if principal is not None:
            status["who"] = principal.name
        if need is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            if principal is None or (csrf is not None and not self._same_origin(headers)):
                return await send({"type": "websocket.close", "code": 1008})
            return await self.app(scope, receive, send)
        if principal is None:
            if path == "/" and method in ("GET", "HEAD"):
                return await _send_simple(send, 303, b"", b"text/plain", [(b"location", b"/login")])
            return await _send_error(send, 401, "authentication required (Authorization: Bearer "
                                     "TOKEN, or log in at /login)", [(b"www-authenticate", b"Bearer")])
        if ROLES[principal.role] < ROLES[need]:
            return await _send_error(send, 403, f"the {need} role is required")
        if csrf is not None and method in UNSAFE:
            sent = headers.get(CSRF_HEADER, b"").decode("latin-1")
            if not hmac.compare_digest(sent, csrf):
                return await _send_error(send, 403, "missing or wrong X-CSRF-Token header")
        return await self.app(scope, receive, send)

    @staticmethod
    def _same_origin(headers: dict[bytes, bytes]) -> bool:
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        return not origin or origin.split("://", 1)[-1] == host

    async def _login(self, scope, receive, send, status, method, path):
        auth = self.auth
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        if path == "/logout":
            if method != "POST":
                return await _send_error(send, 405, "use POST")
            gone = "=; Path=/; Max-Age=0; SameSite=Strict" + secure
            return await _send_simple(send, 303, b"", b"text/plain", [
                (b"location", b"/login"), (b"set-cookie", f"{SESSION_COOKIE}{gone}; HttpOnly".encode()),
                (b"set-cookie", f"{CSRF_COOKIE}{gone}".encode())])
        if method in ("GET", "HEAD"):
            body = LOGIN_HTML.read_bytes()
            return await _send_simple(send, 200, body if method == "GET" else b"",
                                      b"text/html; charset=utf-8",
                                      [(b"content-security-policy", LOGIN_CSP.encode()),
                                       (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")])
        if method != "POST":
            return await _send_error(send, 405, "use GET or POST")
        client = (scope.get("client") or ("unknown",))[0]
        wait = auth.limiter.retry_after(client)
        if wait:
            return await _send_error(send, 429, f"too many failed logins: retry in {wait:.0f} s",
                                     [(b"retry-after", str(int(wait)).encode())])
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if len(body) > MAX_FORM:
                return await _send_error(send, 413, "login form too large")
            if not msg.get("more_body"):
                break
        token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()
        p = auth.check_token(token)
        if p is None:
            auth.limiter.failed(client)
            log.warning("failed login from %s", client)
            return await _send_simple(send, 303, b"", b"text/plain", [(b"location", b"/login?failed=1")])
        status["who"] = p.name
        session, csrf = auth.issue_session(p)
        ttl = int(auth.cfg.session_ttl)
        attrs = f"; Path=/; Max-Age={ttl}; SameSite=Strict{secure}"
        return await _send_simple(send, 303, b"", b"text/plain", [
            (b"location", b"/"), (b"set-cookie", f"{SESSION_COOKIE}={session}{attrs}; HttpOnly".encode()),
            (b"set-cookie", f"{CSRF_COOKIE}={csrf}{attrs}".encode())])
