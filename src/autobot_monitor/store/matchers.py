"""Label matchers as in PromQL: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``.

Regexes are RE2 (linear time, see :mod:`..regex`) and fully anchored, ``.`` matching newline,
as in Prometheus. A missing label matches as the empty string, so ``dev!=x`` selects series
without ``dev`` and ``dev=""`` selects only those. Errors: a bad operator, label name or regex
(not RE2, over :data:`~..regex.MAX_PATTERN_BYTES`) or more than :data:`MAX_MATCHERS` matchers in
one request raises :class:`~..errors.QueryError` naming the cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import QueryError
from ..model import LABEL_NAME_RE
from ..regex import MAX_MATCHERS, RegexError, compile_regex, full_match

_OPS = ("=~", "!~", "!=", "=")
_SPLIT = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)(.*)$", re.S)


@dataclass(frozen=True)
class Matcher:
    """One label matcher; ``op`` is one of ``=``, ``!=``, ``=~``, ``!~``."""

    name: str
    op: str
    value: str

    @staticmethod
    def make(name: str, op: str, value: str) -> Matcher:
        if op not in _OPS:
            raise QueryError(f"matcher {name}{op}{value}: unknown operator {op!r}")
        if not LABEL_NAME_RE.match(name):
            raise QueryError(f"matcher: {name!r} is not a valid label name")
        if op in ("=~", "!~"):
            try:
                compile_regex(value)
            except RegexError as e:
                raise QueryError(f"matcher {name}{op}...: {e}") from None
        return Matcher(name, op, value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = full_match(self.value, v)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """``'host=~web-.*'`` -> Matcher. Surrounding double quotes on the value are removed."""
    m = _SPLIT.match(text)
    if not m:
        raise QueryError(f"match: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX, "
                         f"got {text!r}")
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return Matcher.make(name, op, value)


def parse_matchers(texts: Iterable[str] | None) -> list[Matcher]:
    """``['host=~web-.*', ...]`` -> matchers; QueryError for one bad matcher or more than
    :data:`MAX_MATCHERS` of them."""
    texts = list(texts or [])
    if len(texts) > MAX_MATCHERS:
        raise QueryError(f"{len(texts)} matchers, over the cap max_matchers={MAX_MATCHERS}")
    return [parse_matcher(t) for t in texts]


def to_matchers(m: Mapping[str, str] | Iterable[Matcher] | None) -> list[Matcher]:
    """A ``{name: value}`` mapping (equality, the original interface) or matchers -> list."""
    if m is None:
        return []
    if isinstance(m, Mapping):
        return [Matcher.make(k, "=", v) for k, v in m.items()]
    return list(m)


def match_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(x.matches(labels) for x in matchers)
