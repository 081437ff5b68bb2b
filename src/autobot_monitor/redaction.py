"""One redaction path for everything that reaches a log.

:func:`redact_text` masks, with ``***``: URL userinfo (``http://user:pass@h`` ->
``http://***@h``), the values of query parameters whose name says credential (``token``,
``secret``, ``password``, ``key``, ``auth``, ``sig``, ``session``...: ``/ws?token=***``),
``Bearer``/``Basic`` credentials, and every value registered with
:func:`~.secret_registry.register_secret` (tokens read from the environment, service passwords,
whole Slack/webhook URLs registered by :func:`register_secret_url`). :class:`RedactFilter`
applies it to every log record (installed by :func:`~.logs.setup_logging` on all its handlers).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from .secret_registry import MASK, mask_secrets, redact, register_secret, register_url_secrets

# A query parameter whose name says it carries a credential; names are bounded so matching stays
# linear in the text length.
_QUERY_PARAM_RE = re.compile(r"([?&;])([A-Za-z0-9_.\-\[\]]{1,64})=([^&;\s#\"'<>]*)")
_SECRET_NAME_RE = re.compile(r"token|secret|passw|pwd|key|auth|sig|session|credential|cookie", re.I)
_CREDENTIAL_RE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.I)


# Each pattern below needs one of these in the text: userinfo an "@", a query parameter an "=",
# a credential the word Bearer or Basic. A line without any (most access-log lines) only needs
# the registered secrets masked.
_TRIGGER_RE = re.compile(r"[@=]|bearer|basic", re.I)


def redact_text(text: str) -> str:
    """``text`` with URL userinfo, credential-like query values, ``Bearer``/``Basic``
    credentials and registered secrets replaced by ``***`` (see :func:`~.secret_registry.redact`)."""
    if _TRIGGER_RE.search(text) is None:
        return mask_secrets(text)
    out = redact(text) or ""
    out = _QUERY_PARAM_RE.sub(lambda m: m.group(0) if not _SECRET_NAME_RE.search(m.group(2))
                              else f"{m.group(1)}{m.group(2)}={MASK}", out)
    return _CREDENTIAL_RE.sub(lambda m: f"{m.group(1)} {MASK}", out)


def register_secret_url(url: str | None, whole: bool = True) -> None:
    """Register the password inside ``url``; with ``whole``, the whole URL too (Slack incoming
    webhooks, webhook URLs carrying a token in their path), as written and without its userinfo,
    so it is masked in every log line."""
    if not url:
        return
    register_url_secrets(url)
    if not whole:
        return
    register_secret(url)
    try:
        parts = urlsplit(url)
        bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    except ValueError:
        return
    register_secret(bare)


class RedactFilter(logging.Filter):
    """Rewrites each record's message, exception and stack text through :func:`redact_text`
    (installed on every handler :func:`setup_logging` creates; never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: let the handler report it
            return True
        record.msg, record.args = redact_text(msg), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
