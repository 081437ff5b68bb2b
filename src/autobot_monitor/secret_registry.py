"""The process-wide registry of secret values that must never reach a log, an error text or an
API answer, and the masking that uses it.

Writers: service checks (passwords read from ``password_env``, passwords embedded in configured
URLs), :mod:`~autobot_monitor.web.auth` (API tokens, session secret), the optimizer (Redis
passwords of its actions), :func:`~autobot_monitor.redaction.register_secret_url` (notification
URLs). Readers: :func:`redact` and :func:`mask_secrets`, used by
:func:`~autobot_monitor.redaction.redact_text` on every log record. Thread-safe; values are never
removed (a process remembers every secret it was given).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import unquote, urlsplit

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_by_length: tuple[str, ...] = ()  # _secrets, longest first (rebuilt on each registration)
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@")
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember ``value`` (a password, a token) so :func:`redact` masks it wherever it appears.
    Empty values are ignored."""
    if value:
        global _by_length
        with _secrets_lock:
            _secrets.add(value)
            _by_length = tuple(sorted(_secrets, key=len, reverse=True))


def mask_secrets(text: str) -> str:
    """``text`` with every registered secret (longest first) replaced by ``***``; no regex."""
    for s in _by_length:
        if s in text:
            text = text.replace(s, MASK)
    return text


def register_url_secrets(url: str) -> None:
    """Register the password embedded in ``url`` (both as written and percent-decoded)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        register_secret(password)
        register_secret(unquote(password))


def redact(text: str | None, extra: tuple[str, ...] = ()) -> str | None:
    """``text`` with URL userinfo masked (``scheme://user:pass@`` -> ``scheme://***@``) and every
    registered secret (plus ``extra``) replaced by ``***``. ``None`` stays ``None``."""
    if text is None:
        return None
    out = _USERINFO_RE.sub(lambda m: m.group("scheme") + MASK + "@", str(text))
    if not extra:
        return mask_secrets(out)
    with _secrets_lock:
        secrets = sorted(_secrets.union(s for s in extra if s), key=len, reverse=True)
    for s in secrets:
        out = out.replace(s, MASK)
    return out
