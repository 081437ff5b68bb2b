"""Alert lifecycle: inactive -> pending -> firing -> resolved, one alert per rule and label set.

:class:`AlertEngine` is fed, once per hub cycle, the value of every rule for every label set
(:meth:`evaluate`) and moves each alert through its states:

* condition true while inactive/resolved -> ``pending`` (or straight to ``firing`` when ``for``
  is 0); ``pending`` for at least ``for`` seconds -> ``firing``; condition false while pending ->
  dropped (never notified).
* ``firing`` ends when the value has *cleared*: crossed the ``clear`` level when one is set
  (hysteresis: for a ``>`` rule, value below ``clear``; for ``<``, above it), else when the
  condition is false; a label set with no value this cycle counts as cleared. After clearing it
  keeps firing for ``keep_firing_for`` seconds, then becomes ``resolved``.
* Flapping: each firing/resolved transition is timed; ``flap_threshold`` of them within
  ``flap_window`` mark the alert ``flapping``: one "flapping" notification, then no more
  notifications for it until it has been quiet for ``flap_window``.

Operator state (acknowledgements, silences) lives here too. The whole state is persisted as JSON
(:meth:`to_state` / :meth:`load_state`) so a restart neither loses firing alerts nor notifies them
again. Time comes from the injected clock (wall seconds), so tests need no sleeping.
"""

from __future__ import annotations

import hashlib
import operator
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..clock import Clock
from ..matchers import MatcherInput
from ..severity import SEVERITY_VALUES, Severity
from .config import RuleConfig
from .silences import Silence, Silences
from .text import format_value, render_template

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
    "!=": operator.ne,
}


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """Stable id of an alert: sha256 of the rule name and sorted labels, 16 hex digits."""
    raw = rule + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class Alert:
    """One alert instance. Times are Unix seconds; ``None`` = not happened."""

    fingerprint: str
    rule: str
    labels: dict[str, str]
    severity: Severity
    category: str
    state: str  # pending | firing | resolved
    value: float | None
    threshold: float
    summary: str
    description: str
    active_since: float
    fired_at: float | None = None
    resolved_at: float | None = None
    last_true: float | None = None
    last_eval: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    flapping: bool = False
    silenced_by: str | None = None
    notified_state: str | None = None
    last_notified_at: float | None = None

    def __post_init__(self) -> None:
        self.severity = Severity.parse(self.severity)  # from a state file: a string

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Notification:
    """What the dispatcher sends: ``kind`` is ``firing``, ``resolved`` or ``flapping``."""

    kind: str
    alert: Alert


@dataclass
class EngineSettings:
    flap_window: float = 3600.0
    flap_threshold: int = 3
    repeat_interval: float = 4 * 3600.0
    history_size: int = 1000


class AlertEngine:
    """State of every alert, silence and acknowledgement; see the module docstring."""

    def __init__(self, clock: Clock, settings: EngineSettings | None = None):
        self.clock = clock
        self.settings = settings or EngineSettings()
        self.alerts: dict[str, Alert] = {}
        # fingerprint -> [monotonic time of active_since, of last_true]: ``for`` and
        # ``keep_firing_for`` are durations, so a wall-clock step must not fire or resolve
        # anything (alerts loaded from a state file have none and fall back to wall time)
        self._mono: dict[str, list[float]] = {}
        self.silences = Silences(self._record)
        self.history: deque[dict[str, Any]] = deque(maxlen=self.settings.history_size)
        self._flaps: dict[str, deque[float]] = {}
        self._flapping: set[str] = set()
        self.fired_counts: dict[tuple[str, Severity], int] = {}
        self.dirty = False

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, rule: RuleConfig, values: list[tuple[dict[str, str], float | None]],
                 priorities: dict[str, str] | None = None,
                 unmeasured: Iterable[dict[str, str]] = ()) -> list[Notification]:
        """Apply one rule's values for this cycle. ``values``: ``(labels, value)`` per label set
        (``None`` = no value: the condition is false and a firing alert counts as cleared).
        ``unmeasured``: label sets present but without a value that stands for the window (too
        little data): a pending alert of one goes inactive, a firing one stays as it is.
        ``priorities`` maps host name -> inventory priority; a critical host raises severity one
        step when the rule allows it. Returns notifications due now."""
        now = self.clock.time()
        out: list[Notification] = []
        seen: set[str] = set()
        for labels in unmeasured:
            fp = fingerprint(rule.name, {**labels, "alertname": rule.name})
            seen.add(fp)
            a = self.alerts.get(fp)
            if a is not None and a.state == "firing":
                a.last_eval = now
            elif a is not None:
                out += self._step(rule, fp, a.labels, a.severity, None, False, True, now)
        for labels, value in values:
            labels = {**labels, "alertname": rule.name}
            fp = fingerprint(rule.name, labels)
            seen.add(fp)
            sev = rule.severity
            if rule.priority_escalation and priorities and priorities.get(labels.get("host", "")) == "critical":
                sev = sev.raised()
            cond = value is not None and _OPS[rule.op](value, rule.threshold)
            cleared = self._cleared(rule, value, cond)
            out += self._step(rule, fp, labels, sev, value, cond, cleared, now)
        for fp, a in list(self.alerts.items()):
            if a.rule == rule.name and fp not in seen:
                out += self._step(rule, fp, a.labels, a.severity, None, False, True, now)
        return out

    @staticmethod
    def _cleared(rule: RuleConfig, value: float | None, cond: bool) -> bool:
        if value is None:
            return True
        if rule.clear is None:
            return not cond
        if rule.op in (">", ">="):
            return value < rule.clear
        return value > rule.clear

    def _step(self, rule: RuleConfig, fp: str, labels: dict[str, str], sev: Severity,
              value: float | None, cond: bool, cleared: bool, now: float) -> list[Notification]:
        a = self.alerts.get(fp)
        ctx = {"rule": rule.name, "value": format_value(value, rule.fn), "labels": labels,
               "threshold": format_value(rule.threshold, rule.fn), "severity": sev}
        if a is None or a.state == "resolved":
            if not cond:
                return []
            a = Alert(fp, rule.name, labels, sev, rule.category, "pending", value, rule.threshold,
                      render_template(rule.summary, ctx), render_template(rule.description, ctx),
                      active_since=now, last_true=now, last_eval=now)
            a.flapping = fp in self._flapping
            self.alerts[fp] = a
            mono = self.clock.monotonic()
            self._mono[fp] = [mono, mono]
            self._transition(a, None, "pending", now)
            if rule.for_ <= 0:
                return self._fire(a, now)
            return []
        a.last_eval = now
        if value is not None:
            a.value = value
            a.summary = render_template(rule.summary, ctx)
            a.description = render_template(rule.description, ctx)
        if a.state == "pending":
            if not cond:
                del self.alerts[fp]
                self._mono.pop(fp, None)
                self._transition(a, "pending", "inactive", now)
                return []
            self._mark_true(a, now)
            if self._held(a, 0, a.active_since, now) >= rule.for_:
                return self._fire(a, now)
            return []
        # firing
        if not cleared:
            self._mark_true(a, now)
            return self._repeat(a, now)
        if self._held(a, 1, a.last_true or now, now) < rule.keep_firing_for:
            return self._repeat(a, now)
        return self._resolve(a, now)

    def _mark_true(self, a: Alert, now: float) -> None:
        a.last_true = now
        m = self._mono.get(a.fingerprint)
        if m is not None:
            m[1] = self.clock.monotonic()

    def _held(self, a: Alert, which: int, wall_then: float, now: float) -> float:
        """Seconds since ``active_since`` (``which`` 0) or ``last_true`` (1), on the monotonic
        clock; wall time only for an alert restored from a state file."""
        m = self._mono.get(a.fingerprint)
        return now - wall_then if m is None else self.clock.monotonic() - m[which]

    def _fire(self, a: Alert, now: float) -> list[Notification]:
        a.state, a.fired_at = "firing", now
        key = (a.category, a.severity)
        self.fired_counts[key] = self.fired_counts.get(key, 0) + 1
        self._transition(a, "pending", "firing", now)
        return self._notify_change(a, "firing", now)

    def _resolve(self, a: Alert, now: float) -> list[Notification]:
        a.state, a.resolved_at = "resolved", now
        a.acknowledged_by = a.acknowledged_at = None
        self._transition(a, "firing", "resolved", now)
        out = self._notify_change(a, "resolved", now)
        del self.alerts[a.fingerprint]
        self._mono.pop(a.fingerprint, None)
        return out

    def _notify_change(self, a: Alert, kind: str, now: float) -> list[Notification]:
        fp = a.fingerprint
        self._still_flapping(fp, now)  # a quiet window ends flapping before this transition counts
        flaps = self._flaps.setdefault(fp, deque(maxlen=self.settings.flap_threshold + 1))
        flaps.append(now)
        while flaps and flaps[0] < now - self.settings.flap_window:
            flaps.popleft()
        was_flapping = fp in self._flapping
        if was_flapping or len(flaps) >= self.settings.flap_threshold:
            self._flapping.add(fp)
            a.flapping = True
            return [] if was_flapping else self._emit(a, "flapping", now)
        if kind == "resolved" and a.notified_state != "firing":
            return []  # nobody was told it fired (silenced): nothing to resolve
        return self._emit(a, kind, now)

    def _still_flapping(self, fp: str, now: float) -> bool:
        """Flapping ends once the alert has had no transition for a whole flap window."""
        if fp not in self._flapping:
            return False
        flaps = self._flaps.get(fp)
        if flaps and flaps[-1] >= now - self.settings.flap_window:
            return True
        self._flapping.discard(fp)
        return False

    def _repeat(self, a: Alert, now: float) -> list[Notification]:
        a.flapping = self._still_flapping(a.fingerprint, now)
        if a.flapping:
            return []
        if a.notified_state != "firing":
            # never notified as firing (silenced, or flapping until now): tell once it is audible
            return [] if a.acknowledged_by else self._emit(a, "firing", now)
        if a.acknowledged_by:
            return []
        if a.last_notified_at is not None and now - a.last_notified_at >= self.settings.repeat_interval:
            return self._emit(a, "firing", now)
        return []

    def _emit(self, a: Alert, kind: str, now: float) -> list[Notification]:
        if self._silenced(a, now):
            return []
        a.notified_state = "firing" if kind == "flapping" else kind
        a.last_notified_at = now
        self.dirty = True
        return [Notification(kind, a)]

    def _silenced(self, a: Alert, now: float) -> bool:
        a.silenced_by = self.silences.silencing(a.labels, now)
        return a.silenced_by is not None

    def _record(self, entry: dict[str, Any]) -> None:
        self.history.append(entry)
        self.dirty = True

    def _transition(self, a: Alert, old: str | None, new: str, now: float) -> None:
        self.dirty = True
        self.history.append({"time": now, "fingerprint": a.fingerprint, "rule": a.rule,
                             "labels": a.labels, "from": old, "to": new, "value": a.value,
                             "severity": a.severity, "summary": a.summary})

    def prune(self) -> None:
        """Record ``silence_expired`` once for each silence that has run out; forget flap records
        older than the flap window and silences expired for a day."""
        now = self.clock.time()
        for fp, flaps in list(self._flaps.items()):
            while flaps and flaps[0] < now - self.settings.flap_window:
                flaps.popleft()
            if not flaps and fp not in self.alerts:
                del self._flaps[fp]
                self._flapping.discard(fp)
        self.silences.prune(now)

    # -- operator actions ----------------------------------------------------------------------
    def acknowledge(self, fp: str, by: str) -> Alert:
        """Mark a firing or pending alert acknowledged (no repeat notifications). KeyError if
        there is no such active alert."""
        a = self.alerts[fp]
        a.acknowledged_by, a.acknowledged_at = by, self.clock.time()
        self.history.append({"time": a.acknowledged_at, "fingerprint": fp, "rule": a.rule,
                             "labels": a.labels, "from": a.state, "to": "acknowledged", "by": by})
        self.dirty = True
        return a

    def unacknowledge(self, fp: str) -> Alert:
        a = self.alerts[fp]
        a.acknowledged_by = a.acknowledged_at = None
        self.dirty = True
        return a

    def add_silence(self, matchers: MatcherInput, duration: float, comment: str,
                    created_by: str) -> Silence:
        """Silence alerts matching ``matchers`` (see :func:`~..matchers.matchers_from`) for
        ``duration`` seconds from now. ValueError for no matchers, a bad matcher or regex, a cap
        exceeded or a bad duration (see :meth:`.silences.Silences.add`)."""
        return self.silences.add(matchers, duration, comment, created_by, self.clock.time())

    def expire_silence(self, sid: str, by: str = "operator") -> Silence:
        """End a silence now on an operator's request (KeyError if unknown): the history records
        ``silence_deleted`` with ``by``, unless it had already run out (``silence_expired``)."""
        return self.silences.expire(sid, by, self.clock.time())

    # -- persistence ---------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"version": 1, "alerts": [a.to_json() for a in self.alerts.values()],
                "silences": [s.to_json() for s in self.silences.values()],
                "flaps": {fp: list(d) for fp, d in self._flaps.items()},
                "flapping": sorted(self._flapping),
                "fired_counts": [[c, s, n] for (c, s), n in self.fired_counts.items()],
                "history": list(self.history)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`to_state` output; unknown or malformed entries are skipped."""
        for d in state.get("alerts", []):
            try:
                a = Alert(**d)
            except (TypeError, ValueError):
                continue
            self.alerts[a.fingerprint] = a
        self.silences.load(state.get("silences", []), self.clock.time())
        for fp, times in state.get("flaps", {}).items():
            self._flaps[fp] = deque(times, maxlen=self.settings.flap_threshold + 1)
        self._flapping.update(state.get("flapping", []))
        for cat, sev, n in state.get("fired_counts", []):
            if sev in SEVERITY_VALUES:
                self.fired_counts[(cat, Severity(sev))] = n
        self.history.extend(state.get("history", [])[-self.settings.history_size:])

    # -- views ---------------------------------------------------------------------------------
    def active(self, state: str | None = None, severity: str | None = None,
               host: str | None = None) -> list[Alert]:
        """Pending and firing alerts, most severe first, filtered."""
        now = self.clock.time()
        out = []
        for a in self.alerts.values():
            if state and a.state != state:
                continue
            if severity and a.severity != severity:
                continue
            if host and a.labels.get("host") != host:
                continue
            self._silenced(a, now)
            out.append(a)
        out.sort(key=lambda a: (-a.severity.rank, a.state != "firing", a.active_since))
        return out

    def firing_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITY_VALUES, 0)
        for a in self.alerts.values():
            if a.state == "firing":
                counts[a.severity] += 1
        return counts


__all__ = ["Alert", "AlertEngine", "EngineSettings", "Notification", "Silence", "fingerprint"]
