"""Security sections of the config: ``auth:``, ``tls:`` and ``privacy:``.

Tokens are never written in the file: a token entry gives either its SHA-256 (hex, as printed by
``autobot-monitor hash-token``) or ``token_env``, the name of an environment variable holding the
token itself (read when the hub starts, see :func:`autobot_monitor.web.auth.resolve_tokens`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..regex import check_regex

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_RE = re.compile(r"^(\*|(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})|\[?[0-9A-Fa-f:.]{2,45}\]?)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TokenConfig(_Model):
    """One API token: ``name`` (shown in the access log), ``role`` (``viewer`` reads, ``admin``
    also acknowledges, silences and starts actions) and exactly one of ``token_sha256`` (64 lower
    case hex digits) or ``token_env`` (environment variable holding the token)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
    role: Literal["viewer", "admin"] = "viewer"
    token_sha256: str | None = None
    token_env: str | None = None

    @field_validator("token_sha256")
    @classmethod
    def _v_hash(cls, v: str | None) -> str | None:
        if v is not None and not _HEX64.match(v):
            raise ValueError("must be 64 lower case hex digits (autobot-monitor hash-token prints it)")
        return v

    @field_validator("token_env")
    @classmethod
    def _v_env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_RE.match(v):
            raise ValueError("must be an environment variable name")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> TokenConfig:
        if (self.token_sha256 is None) == (self.token_env is None):
            raise ValueError("give exactly one of token_sha256 or token_env")
        return self


class AuthConfig(_Model):
    """Access control of the hub. No ``tokens`` = no access control (allowed on loopback only,
    or with ``--insecure``). ``metrics_public`` leaves ``/metrics`` open for a Prometheus without
    credentials. ``secret_env`` names a variable holding the session-signing secret (else a random
    one per process); sessions live in the hub's memory either way and end when it restarts.
    ``session_ttl`` in seconds. At most
    ``login_max_failures`` failed logins per client address in ``login_window`` seconds, and at
    most ``bearer_max_failures`` requests with a wrong bearer token (then 429 with Retry-After).
    ``allowed_hosts``: ``Host`` names the hub answers besides loopback and its listen address
    (``name``, ``*.example.com``, or ``*`` for any). ``trusted_proxies``: addresses or networks
    whose ``X-Forwarded-For``/``-Proto`` are believed (default none: the peer address counts;
    read at start, not on reload)."""

    tokens: list[TokenConfig] = Field(default_factory=list)
    metrics_public: bool = False
    secret_env: str | None = None
    session_ttl: float = Field(12 * 3600.0, ge=60, le=30 * 86400)
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_window: float = Field(300.0, ge=1, le=86400)
    bearer_max_failures: int = Field(20, ge=1, le=100_000)
    allowed_hosts: list[str] = Field(default_factory=list, max_length=1000)
    trusted_proxies: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("allowed_hosts")
    @classmethod
    def _v_hosts(cls, v: list[str]) -> list[str]:
        for i, h in enumerate(v):
            if not _HOST_RE.match(h):
                raise ValueError(f"[{i}]: {h!r} is not a host name, an address, *.domain or *")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _v_proxies(cls, v: list[str]) -> list[str]:
        for i, p in enumerate(v):
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise ValueError(f"[{i}]: {p!r} is not an IP address or network") from None
        return v

    @field_validator("tokens")
    @classmethod
    def _unique(cls, v: list[TokenConfig]) -> list[TokenConfig]:
        seen: set[str] = set()
        for i, t in enumerate(v):
            if t.name in seen:
                raise ValueError(f"[{i}]: duplicate token name {t.name!r}")
            seen.add(t.name)
        return v


class TlsConfig(_Model):
    """HTTPS for the hub: PEM ``certfile`` (chain) and ``keyfile``; relative paths are relative
    to the config file's directory. ``key_password_env`` names a variable holding the key's
    passphrase, if it has one."""

    certfile: str
    keyfile: str
    key_password_env: str | None = None


class PrivacyConfig(_Model):
    """``redact_process_names``: RE2 regular expressions (see :mod:`..regex`); every match inside an
    ``autobot_process_*`` ``name`` label is replaced by ``***`` before the hub stores, shows or
    evaluates it (``.*`` hides every process name)."""

    redact_process_names: list[str] = Field(default_factory=list)

    @field_validator("redact_process_names")
    @classmethod
    def _v_re(cls, v: list[str]) -> list[str]:
        for i, p in enumerate(v):
            try:
                check_regex(p, dot_nl=False)
            except ValueError as e:
                raise ValueError(f"[{i}]: {e}") from None
        return v
