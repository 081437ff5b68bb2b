"""Access control and access log of the hub: a pure-ASGI middleware.

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
logins and failed bearer tokens are limited per client address (:class:`~.guard.FailureLimiter`,
bounded memory). Sessions live in a server-side table (:class:`~.guard.SessionTable`): logout,
rotating or removing the token end them at once. Before all that, the ``Host`` header must name
this hub and a browser's ``Origin`` its scheme, host and port (:mod:`.guard`, DNS rebinding).

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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from ..errors import ConfigError
from ..secret_registry import register_secret
from .guard import (
    FailureLimiter,
    HostAllowlist,
    SessionTable,
    deny,
    interface_names,
    same_origin,
    send_error,
    send_simple,
)

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
    and registered with :func:`~..secret_registry.register_secret` so no log line shows them.
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


LoginLimiter = FailureLimiter  # the name earlier callers import


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
        self.limiter = FailureLimiter(auth_cfg.login_max_failures, auth_cfg.login_window)
        self.bearer_limiter = FailureLimiter(auth_cfg.bearer_max_failures, auth_cfg.login_window)
        self.sessions = SessionTable()

    def adopt(self, old: Authenticator) -> None:
        """Keep ``old``'s live state across a config reload: session secret (unless this config
        names its own), sessions and failure counts; the new limits apply."""
        if not self.cfg.secret_env:
            self.secret = old.secret
        self.sessions = old.sessions
        for mine, theirs in ((self.limiter, old.limiter), (self.bearer_limiter, old.bearer_limiter)):
            theirs.max_failures, theirs.window = mine.max_failures, mine.window
        self.limiter, self.bearer_limiter = old.limiter, old.bearer_limiter

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

    def issue_session(self, token: str, now: float | None = None) -> tuple[str, str] | None:
        """(session cookie value, CSRF token) for the holder of ``token``, valid
        ``session_ttl`` seconds and recorded in :attr:`sessions`; None for an unknown token."""
        digest = hash_token(token)
        p = self.tokens.get(digest)
        if p is None:
            return None
        nonce = secrets.token_urlsafe(16)
        exp = int((now or time.time()) + self.cfg.session_ttl)
        data = f"{p.name}|{p.role}|{exp}|{nonce}"
        self.sessions.add(nonce, digest, exp)
        return f"{data}|{self._mac(data)}", self._mac("csrf|" + nonce)

    def _session_nonce(self, value: str, now: float | None) -> tuple[Principal, str] | None:
        """(principal written in the cookie, nonce) of a well-signed, unexpired cookie value."""
        parts = value.split("|")
        if len(parts) != 5:
            return None
        name, role, exp, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac("|".join(parts[:4]))):
            return None
        if not exp.isdigit() or int(exp) < (now or time.time()):
            return None
        return Principal(name, role), nonce

    def check_session(self, value: str, now: float | None = None) -> tuple[Principal, str] | None:
        """(principal, expected CSRF token) of a valid, unexpired, live (not logged out)
        session whose token is still configured with the same name and role; else ``None``.
        Rotating or removing the token thus ends its sessions at the next request."""
        found = self._session_nonce(value, now)
        if found is None:
            return None
        p, nonce = found
        live = self.sessions.get(nonce, now)
        if live is None or self.tokens.get(live.token_sha256) != p:
            return None
        return p, self._mac("csrf|" + nonce)

    def revoke_session(self, value: str) -> bool:
        """End the session of cookie ``value`` (logout); False when it was not live."""
        found = self._session_nonce(value, None)
        return found is not None and self.sessions.revoke(found[1])


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        k, sep, v = part.strip().partition("=")
        if sep:
            out.setdefault(k, v)
    return out


def _same_origin(scope, headers: dict[bytes, bytes]) -> bool:
    origin = headers.get(b"origin")
    return same_origin(origin.decode("latin-1") if origin is not None else None,
                       scope.get("scheme", "http"), headers.get(b"host", b"").decode("latin-1"))


class AuthMiddleware:
    """Wraps the hub's ASGI app: checks Host and Origin, authenticates, authorises, serves
    ``/login`` and ``/logout``, and writes one access-log line per request or WebSocket."""

    def __init__(self, app, get_config, environ=os.environ, listen_host: str = "127.0.0.1"):
        """``get_config()`` returns the current ``auth:`` section (read per request, so a
        reloaded config's tokens and allowed hosts apply at once; the session secret, the
        sessions and the failure counts stay). ``listen_host``: the address the hub listens on
        (see :func:`~.guard.interface_names`). Raises :class:`ConfigError` when a token's
        environment variable is unset."""
        self.app = app
        self.get_config = get_config
        self.environ = environ
        self.listen_names = interface_names(listen_host)
        self._cfg = get_config()
        self.auth = Authenticator(self._cfg, environ)
        self.hosts = HostAllowlist(self.listen_names, self._cfg.allowed_hosts)

    def _current(self) -> Authenticator:
        cfg = self.get_config()
        if cfg is not self._cfg and cfg != self._cfg:
            self._cfg = cfg
            self.hosts = HostAllowlist(self.listen_names, cfg.allowed_hosts)
            try:
                new = Authenticator(cfg, self.environ)
            except ConfigError as e:
                log.error("auth config not applied, keeping the previous tokens: %s", e)
                return self.auth
            new.adopt(self.auth)
            self.auth = new
        return self.auth

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": None, "who": "anonymous"}

        async def send_wrapper(msg):
            t = msg["type"]
            if t in ("http.response.start", "websocket.http.response.start"):
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
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("", 0)
                line = json.dumps({
                    "time": round(time.time(), 3), "client": client[0], "who": status["who"],
                    "method": scope.get("method", "WS"), "path": scope.get("path", ""),
                    "status": status["code"], "duration_s": round(time.perf_counter() - t0, 6)},
                    separators=(",", ":"))
                # makeRecord + handle: Logger.info's caller lookup (a stack walk) is not needed
                access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__,
                                                        0, line, None, None))

    async def _handle(self, scope, receive, send, status):
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        auth = self._current()
        headers = _headers(scope)
        if not self.hosts.allowed(headers.get(b"host", b"").decode("latin-1")):
            return await deny(scope, send, 400, "unknown Host header: add it to auth.allowed_hosts "
                                                 "if this hub is reached by that name")
        if not auth.enabled:
            # Open mode (loopback, no tokens): still refuse cross-site browser requests, so a web
            # page open on this machine can neither change state nor read the live feed.
            if (scope["type"] == "websocket" or method in UNSAFE) and not _same_origin(scope, headers):
                return await deny(scope, send, 403, "cross-origin request refused")
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and path in ("/login", "/logout"):
            return await self._login(scope, receive, send, status, method, path)
        need = auth.required_role(method if scope["type"] == "http" else "GET", path)
        found = await self._identify(scope, send, auth, headers)
        if found is False:
            return None  # answered 429
        principal, csrf = found
        if principal is not None:
            status["who"] = principal.name
            scope.setdefault("state", {})["who"] = principal.name  # request.state.who
        if need is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            if principal is None or (csrf is not None and not _same_origin(scope, headers)):
                return await send({"type": "websocket.close", "code": 1008})
            return await self.app(scope, receive, send)
        if principal is None:
            if path == "/" and method in ("GET", "HEAD"):
                return await send_simple(send, 303, b"", b"text/plain", [(b"location", b"/login")])
            return await send_error(send, 401, "authentication required (Authorization: Bearer "
                                     "TOKEN, or log in at /login)", [(b"www-authenticate", b"Bearer")])
        if ROLES[principal.role] < ROLES[need]:
            return await send_error(send, 403, f"the {need} role is required")
        if csrf is not None and method in UNSAFE:
            sent = headers.get(CSRF_HEADER, b"").decode("latin-1")
            if not hmac.compare_digest(sent, csrf) or not _same_origin(scope, headers):
                return await send_error(send, 403, "missing or wrong X-CSRF-Token header, "
                                         "or a foreign Origin")
        return await self.app(scope, receive, send)

    @staticmethod
    async def _identify(scope, send, auth: Authenticator, headers):
        """(principal or None, expected CSRF token or None) from the bearer token or the session
        cookie; False after answering 429 to an address past its failed-bearer limit."""
        authz = headers.get(b"authorization", b"").decode("latin-1")
        if authz[:7].lower() == "bearer ":
            client = (scope.get("client") or ("unknown",))[0]
            wait = auth.bearer_limiter.retry_after(client)
            if wait:
                await deny(scope, send, 429, f"too many wrong tokens: retry in {wait:.0f} s",
                            [(b"retry-after", str(int(wait)).encode())])
                return False
            principal = auth.check_token(authz[7:].strip())
            if principal is None:
                auth.bearer_limiter.failed(client)
            return principal, None
        sess = _cookies(headers).get(SESSION_COOKIE)
        found = auth.check_session(sess) if sess else None
        return found or (None, None)

    async def _login(self, scope, receive, send, status, method, path):
        auth = self.auth
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        if path == "/logout":
            if method != "POST":
                return await send_error(send, 405, "use POST")
            if not _same_origin(scope, _headers(scope)):
                return await send_error(send, 403, "cross-origin request refused")
            sess = _cookies(_headers(scope)).get(SESSION_COOKIE)
            if sess:
                auth.revoke_session(sess)
            gone = "=; Path=/; Max-Age=0; SameSite=Strict" + secure
            return await send_simple(send, 303, b"", b"text/plain", [
                (b"location", b"/login"), (b"set-cookie", f"{SESSION_COOKIE}{gone}; HttpOnly".encode()),
                (b"set-cookie", f"{CSRF_COOKIE}{gone}".encode())])
        if method in ("GET", "HEAD"):
            # Referrer-Policy same-origin: under no-referrer the form's POST says Origin: null
            body = LOGIN_HTML.read_bytes()
            return await send_simple(send, 200, body if method == "GET" else b"",
                                      b"text/html; charset=utf-8",
                                      [(b"content-security-policy", LOGIN_CSP.encode()),
                                       (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")])
        if method != "POST":
            return await send_error(send, 405, "use GET or POST")
        if not _same_origin(scope, _headers(scope)):
            return await send_error(send, 403, "cross-origin request refused")
        client = (scope.get("client") or ("unknown",))[0]
        wait = auth.limiter.retry_after(client)
        if wait:
            return await send_error(send, 429, f"too many failed logins: retry in {wait:.0f} s",
                                     [(b"retry-after", str(int(wait)).encode())])
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if len(body) > MAX_FORM:
                return await send_error(send, 413, "login form too large")
            if not msg.get("more_body"):
                break
        token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()
        p = auth.check_token(token)
        issued = auth.issue_session(token) if p is not None else None
        if p is None or issued is None:
            auth.limiter.failed(client)
            log.warning("failed login from %s", client)
            return await send_simple(send, 303, b"", b"text/plain", [(b"location", b"/login?failed=1")])
        status["who"] = p.name
        session, csrf = issued
        ttl = int(auth.cfg.session_ttl)
        attrs = f"; Path=/; Max-Age={ttl}; SameSite=Strict{secure}"
        return await send_simple(send, 303, b"", b"text/plain", [
            (b"location", b"/"), (b"set-cookie", f"{SESSION_COOKIE}={session}{attrs}; HttpOnly".encode()),
            (b"set-cookie", f"{CSRF_COOKIE}={csrf}{attrs}".encode())])
