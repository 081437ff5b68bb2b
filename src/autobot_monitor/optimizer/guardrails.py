"""Guardrails: which recommendation may be applied now, and the persisted state behind that.

Rules, checked in this order (the first that fails is the reason given):

1. the recommendation proposes an action at all (advice is never "applied");
2. automatic mode (the hub's cycle) needs ``auto_optimization_enabled``; automatic and CLI
   ``--apply`` modes need an auto-applicable recommendation with severity at or above
   ``optimization_severity_threshold`` (an explicit apply by id skips only this rule);
3. no other action is running on the same target;
4. a service restart stops once ``restart_limit.max_restarts`` restarts fell within the last
   ``within_cycles`` optimizer cycles (Monit's "N restarts within M cycles"): the service is
   then *given up*, an alert is raised, and nothing restarts it until it is seen up again;
5. per-target ``cooldown`` seconds since the last action on it;
6. at most ``max_optimizations_per_hour`` actions (applied or failed) in the sliding 3600 s
   before now, counted across cycles and across hub restarts (wall-clock timestamps in the
   state file).

State (``OptimizerState``) is one JSON file replaced atomically; every list in it is bounded.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import Any

from .. import atomicfile
from .model import Recommendation

log = logging.getLogger(__name__)

HOUR = 3600.0
HISTORY_MAX = 200
PENDING_MAX = 100


class OptimizerState:
    """Persisted optimizer state. ``applied``: wall times of actions (last hour only);
    ``last_action``: target key -> wall time; ``cycle``: optimizer cycles run; ``restarts``:
    service -> cycle numbers of its restarts; ``given_up``: service -> ``{"at", "cycle",
    "restarts"}``; ``pending``: effect measurements not yet due; ``in_flight``: the action running
    now (a crash leaves it here); ``history``: the last :data:`HISTORY_MAX` action records."""

    def __init__(self, path: str | None):
        self.path = path
        self.applied: list[float] = []
        self.last_action: dict[str, float] = {}
        self.cycle = 0
        self.restarts: dict[str, list[int]] = {}
        self.given_up: dict[str, dict[str, Any]] = {}
        self.pending: list[dict[str, Any]] = []
        self.in_flight: dict[str, Any] | None = None
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_MAX)
        if path and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    self._load(json.load(f))
            except (OSError, ValueError, TypeError, AttributeError) as e:
                log.error("cannot read optimizer state %s: %s (starting empty)", path, e)

    def _load(self, d: dict) -> None:
        self.applied = [float(t) for t in d.get("applied", [])]
        self.last_action = {str(k): float(v) for k, v in d.get("last_action", {}).items()}
        self.cycle = int(d.get("cycle", 0))
        self.restarts = {str(k): [int(c) for c in v] for k, v in d.get("restarts", {}).items()}
        self.given_up = dict(d.get("given_up", {}))
        self.pending = list(d.get("pending", []))[-PENDING_MAX:]
        self.in_flight = d.get("in_flight")
        self.history.extend(d.get("history", []))

    def to_json(self) -> dict:
        return {"applied": self.applied, "last_action": self.last_action, "cycle": self.cycle,
                "restarts": self.restarts, "given_up": self.given_up, "pending": self.pending,
                "in_flight": self.in_flight, "history": list(self.history)}

    def save(self) -> None:
        """Atomic replace (write, fsync, rename). Blocking: call from a thread."""
        if not self.path:
            return
        try:
            atomicfile.write_json(self.path, self.to_json(), separators=(",", ":"), allow_nan=False)
        except (OSError, ValueError) as e:
            log.error("cannot save optimizer state to %s: %s", self.path, e)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    gave_up: bool = False


class Guardrails:
    """Decides over :class:`OptimizerState` with the hub's clock. ``cfg`` is the MonitorConfig
    (read on every call, so a reload takes effect at once)."""

    def __init__(self, state: OptimizerState, clock):
        self.state = state
        self.clock = clock
        self.running: set[str] = set()

    def actions_last_hour(self) -> int:
        now = self.clock.time()
        return sum(1 for t in self.state.applied if now - HOUR < t <= now)

    def new_cycle(self, cfg) -> int:
        """Start an optimizer cycle: bump the counter and drop what fell out of every window."""
        st = self.state
        st.cycle += 1
        now = self.clock.time()
        st.applied = [t for t in st.applied if t > now - HOUR]
        keep = cfg.optimizer.restart_limit.within_cycles
        st.restarts = {k: [c for c in v if c > st.cycle - keep] for k, v in st.restarts.items()}
        st.restarts = {k: v for k, v in st.restarts.items() if v}
        cd = cfg.optimizer.cooldown
        st.last_action = {k: t for k, t in st.last_action.items() if t > now - max(cd, HOUR)}
        return st.cycle

    def check(self, rec: Recommendation, cfg, mode: str) -> Decision:
        """``mode``: ``auto`` (hub cycle), ``cli`` (``optimize --apply``) or ``manual`` (apply by
        id). Does not change state except to record a give-up."""
        if rec.action is None:
            return Decision(False, "advice only: no action to apply")
        if mode == "auto" and not cfg.auto_optimization_enabled:
            return Decision(False, "auto_optimization_enabled is false (recommendation only)")
        if mode in ("auto", "cli"):
            if not rec.auto_applicable:
                return Decision(False, "not auto-applicable (apply it explicitly by id)")
            if rec.severity < cfg.optimization_severity_threshold:
                return Decision(False, f"severity {rec.severity} is below optimization_severity_threshold "
                                f"{cfg.optimization_severity_threshold}")
        key = rec.action.key
        if key in self.running:
            return Decision(False, f"another action on {rec.action.target} is running")
        now = self.clock.time()
        if rec.action.type == "restart_service":
            svc = rec.action.target
            lim = cfg.optimizer.restart_limit
            if svc in self.state.given_up:
                g = self.state.given_up[svc]
                return Decision(False, f"gave up on {svc} after {g['restarts']} restarts within "
                                f"{lim.within_cycles} cycles; held until it is seen up", True)
            recent = [c for c in self.state.restarts.get(svc, []) if c > self.state.cycle - lim.within_cycles]
            if len(recent) >= lim.max_restarts:
                self.state.given_up[svc] = {"at": now, "cycle": self.state.cycle, "restarts": len(recent)}
                log.error("optimizer gives up restarting %s: %d restarts within %d cycles", svc,
                          len(recent), lim.within_cycles)
                return Decision(False, f"gave up on {svc}: {len(recent)} restarts within "
                                f"{lim.within_cycles} cycles (max {lim.max_restarts})", True)
        last = self.state.last_action.get(key)
        if last is not None and now - last < cfg.optimizer.cooldown:
            return Decision(False, f"cooldown: last action on {rec.action.target} {now - last:.0f}s ago "
                            f"(cooldown {cfg.optimizer.cooldown:g}s)")
        n = self.actions_last_hour()
        if n >= cfg.max_optimizations_per_hour:
            return Decision(False, f"hourly limit: {n} action(s) in the last 3600 s "
                            f"(max_optimizations_per_hour {cfg.max_optimizations_per_hour})")
        return Decision(True, "allowed")

    def record(self, rec: Recommendation) -> None:
        """Count an attempted action (success or failure) against every limit."""
        assert rec.action is not None
        now = self.clock.time()
        self.state.applied.append(now)
        self.state.last_action[rec.action.key] = now
        if rec.action.type == "restart_service":
            self.state.restarts.setdefault(rec.action.target, []).append(self.state.cycle)

    def seen_up(self, services: dict[str, dict]) -> list[str]:
        """Lift the give-up hold of every service whose check now says up; returns them."""
        lifted = [s for s in self.state.given_up if (services.get(s) or {}).get("up")]
        for s in lifted:
            del self.state.given_up[s]
            self.state.restarts.pop(s, None)
            log.info("optimizer: %s is up again; restart hold lifted", s)
        return lifted
