"""Label matchers as in PromQL: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``.

Regexes are fully anchored (like Prometheus). A missing label matches as the empty string, so
``dev!=x`` selects series without ``dev`` and ``dev=""`` selects only those. Errors: a bad
operator, label name or regex raises :class:`~..errors.QueryError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import QueryError
from ..model import LABEL_NAME_RE

_OPS = ("=~", "!~", "!=", "=")
_SPLIT = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)(.*)$", re.S)


@dataclass(frozen=True)
class Matcher:
    """One label matcher; ``op`` is one of ``=``, ``!=``, ``=~``, ``!~``."""

    name: str
    op: str
    value: str
    _re: re.Pattern | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def make(name: str, op: str, value: str) -> Matcher:
        if op not in _OPS:
            raise QueryError(f"matcher {name}{op}{value}: unknown operator {op!r}")
        if not LABEL_NAME_RE.match(name):
            raise QueryError(f"matcher: {name!r} is not a valid label name")
        rx = None
        if op in ("=~", "!~"):
            try:
                rx = re.compile(value, re.S)
            except re.error as e:
                raise QueryError(f"matcher {name}{op}{value}: bad regex: {e}") from None
        return Matcher(name, op, value, rx)

    def matches(self, labels: Mapping[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = self._re.fullmatch(v) is not None  # type: ignore[union-attr]
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


def to_matchers(m: Mapping[str, str] | Iterable[Matcher] | None) -> list[Matcher]:
    """A ``{name: value}`` mapping (equality, the original interface) or matchers -> list."""
    if m is None:
        return []
    if isinstance(m, Mapping):
        return [Matcher.make(k, "=", v) for k, v in m.items()]
    return list(m)


def match_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(x.matches(labels) for x in matchers)
