"""What the optimizer produces: recommendations (with their evidence) and their input bundle.

A :class:`Recommendation` is only ever built from measured figures: its ``evidence`` names the
metric, the labels, the time window and the values that triggered it. Its ``action`` is ``None``
(advice for a person) or an :class:`ActionRef` naming an allowlisted action type and a target
that the config resolves at apply time (a recommendation never carries a command or a path of
its own).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from ..severity import Severity
from ..store.base import Series

CATEGORIES = ("cpu", "memory", "disk", "load", "service", "redis", "network", "gpu", "thermal")


@dataclass(frozen=True)
class ActionRef:
    """An allowlisted action (``type`` from :data:`~.actions.ACTIONS`) on ``target`` (a service,
    cleanup root, process name or Redis service name) of ``host``."""

    type: str
    target: str
    host: str | None = None

    @property
    def key(self) -> str:
        """Identity for cooldowns and the one-action-per-target rule."""
        return f"{self.type}:{self.host or ''}:{self.target}"


@dataclass
class Recommendation:
    """One finding. ``evidence``: ``{"metric", "labels", "window": {"start", "end"} (Unix s),
    "values": {name: number}}`` (plus free-form extras such as ``top_processes``);
    ``expected_effect`` and ``undo`` are sentences for people; ``metric``/``matchers``/``better``
    tell the effect measurement which stored series to compare before and after
    (``better``: ``"lower"`` or ``"higher"``)."""

    category: str
    kind: str
    severity: Severity  # a string ("high") is parsed on construction
    host: str | None
    target: str
    title: str
    evidence: dict[str, Any]
    expected_effect: str
    action: ActionRef | None = None
    auto_applicable: bool = False
    undo: str = "nothing to undo (advice only)"
    metric: str | None = None
    matchers: dict[str, str] = field(default_factory=dict)
    better: str = "lower"
    id: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        self.severity = Severity.parse(self.severity)  # ValueError for an unknown severity
        if not self.evidence.get("values"):
            raise ValueError("a recommendation needs measured evidence values")
        if not self.id:
            key = f"{self.category}|{self.kind}|{self.host or ''}|{self.target}"
            self.id = hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 - an id, not security

    def to_json(self) -> dict:
        d = asdict(self)
        d["action"] = asdict(self.action) if self.action else None
        return d


@dataclass
class HostInput:
    """One host's current state: ``summary`` (see :func:`~..hub.summary.summarize`),
    ``current``: ``{metric: [(labels, value)]}`` of the last cycle, and ``local``: the hub's own
    host (the only one local actions such as renice or cleanup may touch)."""

    name: str
    up: bool
    summary: dict
    current: dict[str, list[tuple[dict[str, str], float]]]
    local: bool = False


@dataclass
class AnalysisInput:
    """Everything the analyzers read. ``history``: metric name -> stored series over
    ``[now - window, now]`` (labels include ``host``); ``services``: the hub's per-service dicts
    (``up``, ``response_time_seconds``, ``details``...); ``redis``: service name ->
    ``{"slowlog": [{"id", "time", "duration_us", "command"}], "maxmemory_policy": str|None,
    "error": str|None}`` read live; ``cleanup``: root path -> ``{"files", "bytes", "mountpoint"}``
    reclaimable now; ``thresholds``: the config's ``alert_thresholds``; ``opt``: the
    ``optimizer`` section."""

    now: float
    window: float
    hosts: list[HostInput]
    services: dict[str, dict]
    history: dict[str, list[Series]]
    thresholds: Any
    opt: Any
    redis: dict[str, dict] = field(default_factory=dict)
    cleanup: dict[str, dict] = field(default_factory=dict)

    def series(self, metric: str, **match: str) -> list[Series]:
        """Stored series of ``metric`` whose labels include every ``match`` pair."""
        return [s for s in self.history.get(metric, ())
                if all(s.labels.get(k) == v for k, v in match.items())]
