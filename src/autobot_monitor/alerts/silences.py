"""Silence matchers and caps: what :meth:`~.engine.AlertEngine.add_silence` accepts.

A silence holds label matchers (:mod:`..matchers`: ``name=value``, ``!=``, ``=~``, ``!~``; RE2,
fully anchored); a missing label is the empty string, as in Prometheus.

Caps (each refusal is a ``ValueError`` naming the cap; the API answers 400):

- ``max_matchers``: :data:`~..regex.MAX_MATCHERS` matchers per silence;
- ``max_regex_bytes``: :data:`~..regex.MAX_PATTERN_BYTES` bytes per matcher value and name;
- ``max_silences``: :data:`MAX_SILENCES` silences stored (active, and expired less than a day
  ago; an expired one is dropped to make room before a new one is refused);
- ``max_comment_chars``: :data:`MAX_COMMENT` characters of comment, :data:`MAX_CREATED_BY` of
  ``created_by``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..matchers import Matcher, match_all, matchers_from

MAX_SILENCES = 1000
MAX_COMMENT = 1000
MAX_CREATED_BY = 100


def check_silence(matchers: Sequence[Matcher], comment: str, created_by: str) -> None:
    """ValueError for no matchers, or a comment or ``created_by`` over its cap (the matchers
    were checked when built, see :func:`~..matchers.matchers_from`). The count cap is the
    engine's (it knows what is stored)."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"comment is {len(comment)} characters, over the cap "
                         f"max_comment_chars={MAX_COMMENT}")
    if len(created_by) > MAX_CREATED_BY:
        raise ValueError(f"created_by over the cap of {MAX_CREATED_BY} characters")


@dataclass
class Silence:
    """Mutes notifications of alerts whose labels match every matcher; ``alertname`` matches
    the rule name. Times are Unix seconds."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    created_at: float

    def matches(self, labels: Mapping[str, str]) -> bool:
        return match_all(self.matchers, labels)

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def to_json(self) -> dict[str, Any]:
        """The API and state-file form: ``matchers`` as ``["name=~re", ...]`` texts."""
        return {"id": self.id, "matchers": [str(m) for m in self.matchers],
                "starts_at": self.starts_at, "ends_at": self.ends_at, "comment": self.comment,
                "created_by": self.created_by, "created_at": self.created_at}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Silence:
        """:meth:`to_json` output back (``matchers`` may be an old ``{name: "~re"}`` mapping);
        raises ValueError, KeyError or TypeError for a malformed or over-cap entry."""
        s = Silence(str(d["id"]), tuple(matchers_from(d["matchers"])), float(d["starts_at"]),
                    float(d["ends_at"]), str(d["comment"]), str(d["created_by"]),
                    float(d["created_at"]))
        check_silence(s.matchers, s.comment, s.created_by)
        return s


__all__ = ["MAX_COMMENT", "MAX_CREATED_BY", "MAX_SILENCES", "Silence", "check_silence"]
