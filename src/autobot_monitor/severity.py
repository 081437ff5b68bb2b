"""Severity of alerts, recommendations and performance events: ``critical``, ``high``,
``medium``, ``low``.

:class:`Severity` is a string enum (its values are the config and API strings, so JSON and YAML
see plain ``"high"``), ordered by rank: ``LOW < MEDIUM < HIGH < CRITICAL``. Iterating the enum
gives the display order, most severe first (``critical`` ... ``low``), as in count tables.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """One severity; compare with ``<`` (by :attr:`rank`), build from text with :meth:`parse`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """``low`` 0, ``medium`` 1, ``high`` 2, ``critical`` 3."""
        return _RANK[self]

    def raised(self) -> Severity:
        """One step more severe (``critical`` stays ``critical``)."""
        return _BY_RANK[min(self.rank + 1, 3)]

    @classmethod
    def parse(cls, value: object) -> Severity:
        """``"high"`` (or a Severity) -> Severity. Raises ValueError naming the allowed values."""
        try:
            return cls(value)  # type: ignore[arg-type]  # anything else is the ValueError below
        except ValueError:
            raise ValueError(f"unknown severity {value!r}: expected critical, high, medium or "
                             "low") from None

    def _cmp(self, other: object) -> int:
        """Rank difference to ``other`` (a Severity or its string); TypeError for anything else,
        so a severity never falls back to comparing as text."""
        if isinstance(other, str) and other in SEVERITY_VALUES:
            return self.rank - Severity(other).rank
        raise TypeError(f"cannot compare severity {self.value!r} with {other!r}")

    def __lt__(self, other: object) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: object) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: object) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: object) -> bool:
        return self._cmp(other) >= 0


_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
_BY_RANK = {r: s for s, r in _RANK.items()}
SEVERITY_VALUES: tuple[str, ...] = tuple(s.value for s in Severity)
"""``("critical", "high", "medium", "low")``: the config/API strings, most severe first."""

__all__ = ["SEVERITY_VALUES", "Severity"]
