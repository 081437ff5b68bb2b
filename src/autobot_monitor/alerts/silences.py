"""Silence matchers and caps: what :meth:`~.engine.AlertEngine.add_silence` accepts.

A silence maps label name -> ``value`` (equal), ``!value`` (not equal) or ``~regex`` (RE2,
fully anchored, see :mod:`..regex`); a missing label is the empty string, as in Prometheus.

Caps (each refusal is a ``ValueError`` naming the cap; the API answers 400):

- ``max_matchers``: :data:`~..regex.MAX_MATCHERS` matchers per silence;
- ``max_regex_bytes``: :data:`~..regex.MAX_PATTERN_BYTES` bytes per matcher value and name;
- ``max_silences``: :data:`MAX_SILENCES` silences stored (active, and expired less than a day
  ago; an expired one is dropped to make room before a new one is refused);
- ``max_comment_chars``: :data:`MAX_COMMENT` characters of comment, :data:`MAX_CREATED_BY` of
  ``created_by``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model import LABEL_NAME_RE
from ..regex import MAX_MATCHERS, MAX_PATTERN_BYTES, RegexError, compile_regex, full_match

MAX_SILENCES = 1000
MAX_COMMENT = 1000
MAX_CREATED_BY = 100


def match_value(value: str, pattern: str) -> bool:
    """``value`` against one silence or rule matcher: ``~re`` (RE2 full match), ``!v``, ``v``."""
    if pattern.startswith("~"):
        return full_match(pattern[1:], value)
    if pattern.startswith("!"):
        return value != pattern[1:]
    return value == pattern


def check_matchers(matchers: Mapping[str, str], where: str = "matcher") -> None:
    """ValueError unless every name is a label name and every value fits the caps and (``~``)
    compiles as RE2. ``where`` prefixes the message (``match`` in rule configs)."""
    if len(matchers) > MAX_MATCHERS:
        raise ValueError(f"{len(matchers)} matchers, over the cap max_matchers={MAX_MATCHERS}")
    for k, v in matchers.items():
        if not isinstance(k, str) or len(k) > MAX_PATTERN_BYTES or not LABEL_NAME_RE.match(k):
            raise ValueError(f"{where}: {str(k)[:80]!r} is not a valid label name")
        if not isinstance(v, str):
            raise ValueError(f"{where} {k}: value must be a string")
        if len(v.encode("utf-8", "surrogatepass")) > MAX_PATTERN_BYTES + 1:  # + the '~' or '!'
            raise ValueError(f"{where} {k}: value over the cap max_regex_bytes={MAX_PATTERN_BYTES}")
        if v.startswith("~"):
            try:
                compile_regex(v[1:])
            except RegexError as e:
                raise ValueError(f"{where} {k}: {e}") from None


def check_silence(matchers: Mapping[str, str], comment: str, created_by: str) -> None:
    """ValueError for no matchers, a matcher :func:`check_matchers` refuses, or a comment or
    ``created_by`` over its cap. The count cap is the engine's (it knows what is stored)."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    check_matchers(matchers)
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"comment is {len(comment)} characters, over the cap "
                         f"max_comment_chars={MAX_COMMENT}")
    if len(created_by) > MAX_CREATED_BY:
        raise ValueError(f"created_by over the cap of {MAX_CREATED_BY} characters")


__all__ = ["MAX_COMMENT", "MAX_CREATED_BY", "MAX_SILENCES", "check_matchers", "check_silence",
           "match_value"]
