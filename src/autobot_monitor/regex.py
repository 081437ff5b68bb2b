"""User-supplied regular expressions: RE2 semantics, as Prometheus uses (``google-re2``).

Every regex a user supplies (history and export matchers, silences, alert rule ``match``,
``privacy.redact_process_names``) is compiled here, never with :mod:`re`: RE2 matches in time
linear in the input, so a pattern such as ``(.*.*)*X`` cannot stall the hub. RE2 refuses
backreferences (``\\1``) and lookaround (``(?=``, ``(?<!``); such a pattern is a
:class:`RegexError` (a 400 from the API, a config error from the loader).

Matchers are fully anchored as in PromQL: :func:`full_match` succeeds only when the whole value
matches, and ``.`` matches a newline too (Prometheus compiles ``^(?s:PATTERN)$``).

Caps: a pattern is at most :data:`MAX_PATTERN_BYTES` bytes (UTF-8), and its compiled program
and DFA cache at most :data:`MAX_MEM` bytes (RE2 then refuses it as too large); a query or a
silence has at most :data:`MAX_MATCHERS` matchers.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_PATTERN_BYTES = 1024
"""Longest regex accepted, in UTF-8 bytes (cap ``max_regex_bytes``)."""
MAX_MEM = 1 << 20
"""RE2 ``max_mem`` per compiled regex, bytes: a bigger program is refused at compile time."""
MAX_MATCHERS = 32
"""Label matchers in one query (history, export) or one silence at most (cap ``max_matchers``)."""
CACHE_SIZE = 256
"""Compiled patterns kept (LRU): at most ~450 KiB each (``\\pL{40}``), so ~115 MiB at worst."""


class RegexError(ValueError):
    """A user regex that is too long, too large or not RE2 syntax; the message says which."""


def _options(dot_nl: bool) -> re2.Options:
    o = re2.Options()
    o.log_errors = False  # errors are raised, not written to stderr
    o.max_mem = MAX_MEM
    o.dot_nl = dot_nl
    return o


def _show(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 80 else pattern[:77] + "...")


@functools.lru_cache(maxsize=CACHE_SIZE)
def compile_regex(pattern: str, dot_nl: bool = True) -> Any:
    """``pattern`` -> a compiled RE2 regex (``fullmatch``/``search``/``sub`` as in :mod:`re`).
    ``dot_nl``: ``.`` matches ``\\n`` (PromQL matchers). Results are cached (:data:`CACHE_SIZE`).
    Raises :class:`RegexError` over :data:`MAX_PATTERN_BYTES`, over :data:`MAX_MEM` or for
    syntax RE2 does not have (backreferences, lookaround, possessive quantifiers)."""
    if not isinstance(pattern, str):
        raise RegexError(f"regex must be a string, not {type(pattern).__name__}")
    size = len(pattern.encode("utf-8", "surrogatepass"))
    if size > MAX_PATTERN_BYTES:
        raise RegexError(f"regex is {size} bytes, over the cap max_regex_bytes={MAX_PATTERN_BYTES}")
    try:
        return re2.compile(pattern, _options(dot_nl))
    except re2.error as e:
        why = e.args[0] if e.args else str(e)
        if isinstance(why, bytes):
            why = why.decode("utf-8", "replace")
        if "too large" in str(why):
            why = f"{why} (compiled program over max_mem={MAX_MEM} bytes)"
        raise RegexError(f"bad regular expression {_show(pattern)}: {why} (RE2 syntax: no "
                         "backreferences or lookaround)") from None
    except (TypeError, UnicodeError) as e:
        raise RegexError(f"bad regular expression {_show(pattern)}: {e}") from None


def check_regex(pattern: str, dot_nl: bool = True) -> str:
    """``pattern`` unchanged if it compiles (a validator for config models), else RegexError."""
    compile_regex(pattern, dot_nl)
    return pattern


def full_match(pattern: str, value: str) -> bool:
    """True if ``pattern`` matches all of ``value`` (anchored, ``.`` matches newline: PromQL's
    ``=~``). Raises RegexError for a pattern :func:`compile_regex` refuses."""
    rx = compile_regex(pattern)
    try:
        return rx.fullmatch(value) is not None
    except UnicodeEncodeError:  # a lone surrogate: match its replacement character instead
        return rx.fullmatch(value.encode("utf-8", "replace").decode("utf-8")) is not None


__all__ = ["MAX_MATCHERS", "MAX_MEM", "MAX_PATTERN_BYTES", "RegexError", "check_regex", "compile_regex", "full_match"]
