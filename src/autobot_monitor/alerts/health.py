"""Rule health, as Prometheus reports it for its rules (``GET /api/v1/rules``).

Per rule: ``health`` is ``ok`` after an evaluation that ran, ``err`` after one whose query
failed (the rule's alerts were then left as they were), ``unknown`` before the first one;
``lastError`` the failure's message (empty when ok), ``lastEvaluation`` the time of the last
evaluation (ISO 8601 UTC, ``None`` before the first) and ``evaluationTime`` its duration in
seconds (the history query plus the engine step).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

UNKNOWN: dict[str, Any] = {"health": "unknown", "lastError": "", "lastEvaluation": None, "evaluationTime": None}


class RuleHealth:
    """The last evaluation's outcome of every rule, by rule name (bounded by the rule count)."""

    def __init__(self) -> None:
        self._by_rule: dict[str, dict[str, Any]] = {}

    def record(self, rule: str, now: float, seconds: float, error: str | None = None) -> None:
        """One evaluation of ``rule`` at ``now`` (Unix seconds) that took ``seconds``;
        ``error`` is the failure's message, ``None`` when it ran."""
        self._by_rule[rule] = {
            "health": "err" if error else "ok", "lastError": error or "",
            "lastEvaluation": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "evaluationTime": round(seconds, 6)}

    def get(self, rule: str) -> dict[str, Any]:
        """The fields above for ``rule`` (``unknown`` ones if it never ran)."""
        return dict(self._by_rule.get(rule, UNKNOWN))

    def keep(self, rules: set[str]) -> None:
        """Forget rules no longer configured (after a reload)."""
        for name in [n for n in self._by_rule if n not in rules]:
            del self._by_rule[name]
