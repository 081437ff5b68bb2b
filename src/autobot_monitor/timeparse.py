"""Durations and points in time as people write them: the one parser for config, API and CLI.

- :func:`parse_duration`: ``30`` / ``"30"`` / ``"30s"``, ``"500ms"``, ``"5m"``, ``"1h"``, ``"7d"``,
  ``"2w"`` -> seconds (float).
- :func:`parse_time`: Unix seconds, RFC 3339 (``2026-11-29T16:00:00Z``), ``now`` or ``now-1h``
  -> Unix seconds (float).

Two error styles, chosen by the caller: config values (no ``what``) raise a plain ``ValueError``
that pydantic reports under the key; request and command-line values (``what`` names the
parameter) raise :class:`~autobot_monitor.errors.BadRequest` (HTTP 400, exit 2) with a message that
starts with ``what``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from .errors import BadRequest

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}

MAX_TIME = 95_617_584_000.0  # 5000-01-01: far enough, small enough for millisecond integers
MAX_SPAN = 100 * 365 * 86400.0
"""Longest duration a request may ask for (seconds): 100 years."""


def _seconds(text: str) -> float | None:
    m = _DURATION_RE.match(text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_duration(value: object, what: str | None = None) -> float:
    """``value`` as seconds.

    Without ``what`` (config): ``value`` is a number of seconds (finite, not negative) or a
    duration string; 0 is allowed; raises ``ValueError`` ("expected a duration like 30s, 5m, 1h,
    got ...").
    With ``what`` (a request or command-line parameter name): ``value`` is a string; the result
    must be more than 0 and at most :data:`MAX_SPAN`; raises :class:`BadRequest` whose message
    starts with ``what``.
    """
    if what is None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError("must be a finite number of seconds, not negative")
            return float(value)
        v = _seconds(value) if isinstance(value, str) else None
        if v is None:
            raise ValueError(f"expected a duration like 30s, 5m, 1h, got {value!r}")
        return v
    v = _seconds(value) if isinstance(value, str) else None
    if v is None:
        raise BadRequest(f"{what}: expected seconds or a duration like 30s, 5m, 1h, got {value!r}")
    if not 0 < v <= MAX_SPAN:
        raise BadRequest(f"{what}: must be more than 0 and at most {MAX_SPAN:.0f} seconds")
    return v


def parse_time(text: str, what: str, now: float) -> float:
    """Unix seconds, RFC 3339 (``2026-11-29T16:00:00Z``), ``now`` or ``now-DURATION`` -> Unix
    seconds; ``now`` is the caller's clock reading. Raises :class:`BadRequest` (message starts with
    ``what``) for anything else or a time outside 1970..5000."""
    t = text.strip()
    if t == "now":
        return now
    if t.startswith("now-"):
        return now - parse_duration(t[4:], what)
    try:
        v = float(t)
    except ValueError:
        try:
            v = datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise BadRequest(f"{what}: expected Unix seconds, RFC 3339 or now-DURATION, got {text!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_TIME):
        raise BadRequest(f"{what}: must be a time between 1970 and the year 5000")
    return v
