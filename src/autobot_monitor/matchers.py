"""Label matchers, the one grammar for every selector: PromQL's ``name=value``, ``name!=value``,
``name=~regex`` and ``name!~regex``.

Used by history queries and ``export`` (``match=``), alert rules (``match:``) and silences.
Regexes are RE2 (linear time, see :mod:`.regex`), fully anchored and ``.`` matching newline, as in
Prometheus: ``host=~web`` matches ``web`` only, not ``web-1``. A missing label matches as the empty
string, so ``dev!=x`` selects series without ``dev`` and ``dev=""`` selects only those.

Old spelling (deprecated, still accepted): a mapping ``{name: value}`` whose value starts with
``~`` (``=~``) or ``!`` (``!=``); a plain value is ``=``. :func:`matchers_from` reads both;
:func:`legacy_spellings` lists the old ones so callers can say what to write instead.

Errors: a bad operator, label name or regex (not RE2, over :data:`~.regex.MAX_PATTERN_BYTES`),
a value over that cap, or more than :data:`~.regex.MAX_MATCHERS` matchers raise
:class:`MatcherError` (a :class:`~.errors.QueryError`, hence a ``ValueError``) whose message
names the matcher and the cap or the fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, cast

from .errors import QueryError
from .model import LABEL_NAME_RE
from .regex import MAX_MATCHERS, MAX_PATTERN_BYTES, RegexError, compile_regex, full_match

Op = Literal["=", "!=", "=~", "!~"]
OPS: tuple[Op, ...] = ("=", "!=", "=~", "!~")
_SPLIT = re.compile(r"^\s*([^\s=!~]+)\s*(=~|!~|!=|=)(.*)$", re.S)  # name checked by make()
_SYNTAX = "NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX"


class MatcherError(QueryError):
    """A matcher that cannot be used; the message says which one and why."""


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher: ``name`` a label name, ``op`` one of :data:`OPS`, ``value`` the string
    compared (``=``, ``!=``) or the RE2 pattern (``=~``, ``!~``). Build with :meth:`make` or
    :func:`parse_matcher`, which validate; ``str()`` gives text :func:`parse_matcher` reads back."""

    name: str
    op: Op
    value: str

    @staticmethod
    def make(name: str, op: str, value: str) -> Matcher:
        """A validated matcher. Raises :class:`MatcherError` for an unknown ``op``, a ``name``
        that is not a label name, a value that is not a string or is over
        :data:`~.regex.MAX_PATTERN_BYTES` bytes, or a regex RE2 refuses."""
        if op not in OPS:
            raise MatcherError(f"matcher {_show(f'{name}{op}{value}')}: unknown operator {op!r} "
                               f"(expected {_SYNTAX})")
        if not isinstance(name, str) or len(name) > MAX_PATTERN_BYTES or not LABEL_NAME_RE.match(name):
            raise MatcherError(f"matcher: {_show(str(name))} is not a valid label name")
        if not isinstance(value, str):
            raise MatcherError(f"matcher {name}{op}: value must be a string, not "
                               f"{type(value).__name__}")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_PATTERN_BYTES:
            raise MatcherError(f"matcher {name}{op}...: value over the cap "
                               f"max_regex_bytes={MAX_PATTERN_BYTES}")
        if op in ("=~", "!~"):
            try:
                compile_regex(value)
            except RegexError as e:
                raise MatcherError(f"matcher {name}{op}...: {e}") from None
        return Matcher(name, cast(Op, op), value)

    @property
    def is_regex(self) -> bool:
        return self.op in ("=~", "!~")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True if ``labels`` (a missing label is ``""``) satisfy this matcher."""
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = full_match(self.value, v)
        return hit if self.op == "=~" else not hit

    def promql(self) -> str:
        """``name op "value"`` with the value as a PromQL (Go) string literal."""
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

    def __str__(self) -> str:
        """``name op value``; the value is quoted only when it would lose its own quotes."""
        v, inner = self.value, self.value.strip()
        if len(inner) >= 2 and inner[0] == inner[-1] == '"':
            v = f'"{v}"'
        return f"{self.name}{self.op}{v}"


def parse_matcher(text: str) -> Matcher:
    """``'host=~web-.*'`` -> Matcher. One pair of double quotes around the value is removed
    with the blanks outside them (``host = "a b"``); nothing is unescaped; an unquoted value is
    taken as it is. Raises :class:`MatcherError`."""
    m = _SPLIT.match(text) if isinstance(text, str) else None
    if not m:
        raise MatcherError(f"match: expected {_SYNTAX}, got {_show(str(text))}")
    name, op, value = m.groups()
    quoted = value.strip()
    if len(quoted) >= 2 and quoted[0] == quoted[-1] == '"':
        value = quoted[1:-1]
    return Matcher.make(name, op, value)


def _cap(n: int) -> None:
    if n > MAX_MATCHERS:
        raise MatcherError(f"{n} matchers, over the cap max_matchers={MAX_MATCHERS}")


def parse_matchers(texts: Iterable[str] | None) -> list[Matcher]:
    """``['host=~web-.*', ...]`` -> matchers; :class:`MatcherError` for one bad matcher or more
    than :data:`~.regex.MAX_MATCHERS` of them."""
    items = list(texts or [])
    _cap(len(items))
    return [parse_matcher(t) for t in items]


def from_legacy(name: str, value: str) -> Matcher:
    """The old mapping spelling of one matcher: ``~re`` is ``=~``, ``!v`` is ``!=``, anything
    else ``=``. Raises :class:`MatcherError`."""
    if isinstance(value, str) and value.startswith("~"):
        return Matcher.make(name, "=~", value[1:])
    if isinstance(value, str) and value.startswith("!"):
        return Matcher.make(name, "!=", value[1:])
    return Matcher.make(name, "=", value)


def legacy_spellings(m: object) -> list[tuple[str, str]]:
    """``(name, what to write instead)`` for each deprecated ``~re``/``!v`` value of a mapping
    ``m`` (nothing for a list, or values that are not strings)."""
    if not isinstance(m, Mapping):
        return []
    out = []
    for k, v in m.items():
        if isinstance(v, str) and v[:1] in ("~", "!"):
            try:
                out.append((str(k), str(from_legacy(str(k), v))))
            except MatcherError:
                continue  # reported by validation
    return out


MatcherInput = Mapping[str, str] | Iterable[str | Matcher] | None


def matchers_from(m: MatcherInput, legacy: bool = True) -> list[Matcher]:
    """Matchers from a list of :class:`Matcher` or ``"name=~re"`` texts, or from a mapping
    ``{name: value}`` (old spelling when ``legacy``, else equality only). Raises
    :class:`MatcherError` for a bad matcher or more than :data:`~.regex.MAX_MATCHERS`."""
    if m is None:
        return []
    if isinstance(m, str):
        raise MatcherError(f"match: expected a list of matchers ({_SYNTAX}), got one string")
    if isinstance(m, Mapping):
        _cap(len(m))
        make = from_legacy if legacy else (lambda k, v: Matcher.make(k, "=", v))
        return [make(k, v) for k, v in m.items()]
    items = list(m)
    _cap(len(items))
    return [x if isinstance(x, Matcher) else parse_matcher(x) for x in items]


def to_matchers(m: Mapping[str, str] | Iterable[Matcher] | None) -> list[Matcher]:
    """The store's selector argument: a ``{name: value}`` mapping (equality) or matchers -> list
    (no count cap: internal callers)."""
    if m is None:
        return []
    if isinstance(m, Mapping):
        return [Matcher.make(k, "=", v) for k, v in m.items()]
    return list(m)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True if ``labels`` satisfy every matcher (true for no matchers)."""
    return all(x.matches(labels) for x in matchers)


__all__ = ["OPS", "Matcher", "MatcherError", "MatcherInput", "Op", "from_legacy",
           "legacy_spellings", "match_all", "matchers_from", "parse_matcher", "parse_matchers",
           "to_matchers"]
