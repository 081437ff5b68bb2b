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

import math
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..matchers import Matcher, MatcherInput, match_all, matchers_from

MAX_SILENCES = 1000
MAX_DURATION = 366 * 86400.0
"""Longest silence, seconds."""
KEEP_EXPIRED = 86400.0
"""Seconds an expired silence is still listed."""
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


Record = Callable[[dict[str, Any]], None]
"""Appends one history entry (``{"time", "silence", "to", ...}``) and marks the state dirty."""


class Silences(dict[str, Silence]):
    """The stored silences by id, and the history entries their lives write through ``record``:
    ``silence_created``, ``silence_deleted`` (an operator ended it) and ``silence_expired`` (it
    ran out; written once, by :meth:`prune` or :meth:`expire`)."""

    def __init__(self, record: Record):
        super().__init__()
        self._record = record
        self._ended: set[str] = set()  # silences whose end is already in the history

    def add(self, matchers: MatcherInput, duration: float, comment: str, created_by: str,
            now: float) -> Silence:
        """A new silence from ``now`` for ``duration`` seconds. ValueError for no matchers, a bad
        matcher or regex, a cap exceeded or a duration not in (0, :data:`MAX_DURATION`]."""
        ms = tuple(matchers_from(matchers))
        check_silence(ms, comment, created_by)
        if not (math.isfinite(duration) and 0 < duration <= MAX_DURATION):
            raise ValueError(f"duration must be more than 0 and at most "
                             f"{MAX_DURATION / 86400:.0f} days")
        self._make_room(now)
        s = Silence(secrets.token_hex(8), ms, now, now + duration, comment, created_by, now)
        self[s.id] = s
        self._record({"time": now, "silence": s.id, "to": "silence_created",
                      "matchers": [str(m) for m in ms], "by": created_by, "comment": comment})
        return s

    def _make_room(self, now: float) -> None:
        """Drop expired silences (earliest end first) until one more fits under
        :data:`MAX_SILENCES`; ValueError naming the cap if only active ones are left."""
        if len(self) < MAX_SILENCES:
            return
        expired = sorted((s for s in self.values() if s.ends_at <= now), key=lambda s: s.ends_at)
        for s in expired[:len(self) - MAX_SILENCES + 1]:
            del self[s.id]
            self._ended.discard(s.id)
        if len(self) >= MAX_SILENCES:
            raise ValueError(f"{len(self)} active silences, the cap max_silences="
                             f"{MAX_SILENCES}: expire one first")

    def expire(self, sid: str, by: str, now: float) -> Silence:
        """End silence ``sid`` at ``now`` (KeyError if unknown), recording ``silence_deleted``
        with ``by``, or ``silence_expired`` if it had already run out unrecorded."""
        s = self[sid]
        if s.ends_at > now:
            s.ends_at = now
            self._record({"time": now, "silence": sid, "to": "silence_deleted", "by": by})
        elif sid not in self._ended:
            self._record({"time": s.ends_at, "silence": sid, "to": "silence_expired"})
        self._ended.add(sid)
        return s

    def prune(self, now: float) -> None:
        """Record ``silence_expired`` once for each silence that has run out; forget those
        expired for :data:`KEEP_EXPIRED` seconds."""
        for sid, s in list(self.items()):
            if s.ends_at <= now and sid not in self._ended:
                self._ended.add(sid)
                self._record({"time": s.ends_at, "silence": sid, "to": "silence_expired"})
            if s.ends_at < now - KEEP_EXPIRED:
                del self[sid]
                self._ended.discard(sid)

    def silencing(self, labels: Mapping[str, str], now: float) -> str | None:
        """Id of the first active silence matching ``labels``, else None."""
        for s in self.values():
            if s.active(now) and s.matches(labels):
                return s.id
        return None

    def load(self, items: Iterable[Mapping[str, Any]], now: float) -> None:
        """Add :meth:`Silence.to_json` entries from a state file, skipping malformed ones and
        those over a cap (a file written before the caps); one that has ended counts as
        recorded."""
        for d in items:
            try:
                s = Silence.from_json(d)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
            if len(self) < MAX_SILENCES:
                self[s.id] = s
                if s.ends_at <= now:
                    self._ended.add(s.id)


__all__ = ["MAX_COMMENT", "MAX_CREATED_BY", "MAX_DURATION", "MAX_SILENCES", "Silence", "Silences",
           "check_silence"]
