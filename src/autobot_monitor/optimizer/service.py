"""The optimizer as the hub runs it: analyse, decide through the guardrails, act, audit, and
measure the effect of every action from the store once it has settled.

``run_cycle(mode)`` analyses and, per recommendation, applies or records why not (modes: ``auto``
for the hub's periodic cycle, ``cli`` for ``optimize --apply``, ``none`` for a dry run).
``apply(id)`` applies one recommendation of the last analysis explicitly. ``tick()`` (every
monitoring interval) measures due effects: the mean of the recommendation's metric over
``measure_window`` before the action against the mean over the same length after
``settle_time``; the verdict is ``improved``, ``worsened``, ``unchanged`` (under 2 % relative
change) or ``not measurable`` (no data on one side), never a constant. A worsened reversible
action (renice, affinity) is undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..errors import OptimizerError
from ..model import MetricFamily
from .actions import ACTIONS, build_action
from .audit import AuditLog
from .guardrails import PENDING_MAX, Guardrails, OptimizerState
from .inputs import gather
from .metrics import OPTIMIZER_SPECS
from .model import Recommendation
from .service_analyzers import analyze_all

log = logging.getLogger(__name__)

UNCHANGED = 0.02

if TYPE_CHECKING:
    from ..alerts.config import RuleConfig
    from ..clock import Clock
    from ..config.models import MonitorConfig
    from ..store import Store


class LiveState(Protocol):
    """What the optimizer reads of the running hub; each read sees the latest cycle and config.
    ``hosts``: name -> host state (``name``, ``up``, ``local``, ``summary``, ``families``);
    ``services``: name -> the API's service dict (``up``, ``error``, ...)."""

    @property
    def config(self) -> MonitorConfig: ...

    @property
    def hosts(self) -> Mapping[str, Any]: ...

    @property
    def services(self) -> Mapping[str, dict[str, Any]]: ...

    @property
    def local_name(self) -> str: ...


class AlertHook(NamedTuple):
    """How the optimizer raises its own alerts: ``evaluate(rule, [(labels, value)])`` updates the
    alert state of ``rule`` and returns its notifications; ``submit(notifications)`` sends them."""

    evaluate: Callable[[RuleConfig, list[tuple[dict[str, str], float | None]]], list[Any]]
    submit: Callable[[list[Any]], None]


def give_up_rule():
    from ..alerts.config import RuleConfig

    return RuleConfig.model_validate({
        "name": "OptimizerGaveUp", "metric": "autobot_optimizer_restart_given_up", "op": ">",
        "threshold": 0, "severity": "high", "category": "optimizer", "priority_escalation": False,
        "summary": "optimizer gave up restarting {{ service }} (restart limit reached); fix it by hand"})


class OptimizerService:
    """One per hub. ``live`` is the hub's current state and config (:class:`LiveState`),
    ``store`` the TSDB (None: no history, no effect measurement), ``data_dir`` holds the state
    file, lock and (relative) audit log; ``alerts`` raises the give-up alert (None: not raised).
    ``sleep`` is awaited for restart grace periods (tests pass a fast one)."""

    def __init__(self, live: LiveState, store: Store | None, clock: Clock, data_dir: str,
                 alerts: AlertHook | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.live = live
        self.store = store
        self.alerts = alerts
        self.clock = clock
        self.sleep = sleep
        cfg = live.config
        self.state = OptimizerState(os.path.join(data_dir, "optimizer_state.json"))
        self.guard = Guardrails(self.state, self.clock)
        log_dir = os.path.join(data_dir, cfg.logging.dir)  # an absolute dir stays as it is
        self.audit = AuditLog(os.path.join(log_dir, "optimization.log"), cfg.optimizer.audit_max_bytes,
                              cfg.optimizer.audit_backup_count)
        self.lock = asyncio.Lock()
        self.recommendations: dict[str, Recommendation] = {}
        self.analyzed_at: float | None = None
        self.counts: dict[tuple[str, str], int] = {}
        self._lock_path = os.path.join(data_dir, "optimizer.lock")
        if self.state.in_flight:  # the previous process died during an action
            rec = {**self.state.in_flight, "event": "interrupted", "time": self.clock.time(),
                   "result": "unknown: the process stopped before the action finished"}
            self.audit.append(rec)
            self.state.history.append(rec)
            self.state.in_flight = None
            self.state.save()

    @property
    def cfg(self) -> MonitorConfig:
        return self.live.config

    # -- analysis ------------------------------------------------------------------------------
    async def analyze(self) -> list[Recommendation]:
        now = self.clock.time()
        inp = await gather(self.live, self.store, now)
        recs = analyze_all(inp)
        self.recommendations = {r.id: r for r in recs}
        self.analyzed_at = now
        return recs

    async def run_cycle(self, mode: str = "auto") -> dict[str, Any]:
        """Analyse and act per ``mode`` (``auto``, ``cli`` or ``none`` = dry run). Returns
        ``{"timestamp", "cycle", "mode", "recommendations": [rec + "decision" (+ "plan",
        "result")]}``."""
        cycle = self.guard.new_cycle(self.cfg)
        self.guard.seen_up(self.live.services)
        recs = await self.analyze()
        out = []
        for rec in recs:
            item = rec.to_json()
            if mode == "none":
                item["decision"] = {"applied": False, "reason": "dry run"}
                if rec.action is not None:
                    item["plan"] = await self.plan(rec)
                await self._audit({"event": "recommended", "decision": "skipped", "reason": "dry run"}, rec)
            else:
                item.update(await self._decide_and_apply(rec, mode))
            out.append(item)
        self._alert_given_up()
        await asyncio.to_thread(self.state.save)
        return {"timestamp": self.analyzed_at, "cycle": cycle, "mode": mode, "recommendations": out}

    async def plan(self, rec: Recommendation) -> list[str]:
        """The dry-run steps of ``rec``'s action (empty for advice)."""
        if rec.action is None:
            return []
        try:
            action = build_action(rec.action, self.cfg, self.live.local_name, self.clock, self.sleep)
            return await asyncio.to_thread(action.plan)
        except OptimizerError as e:
            return [f"cannot run: {e}"]

    # -- applying ------------------------------------------------------------------------------
    async def apply(self, rec_id: str, dry_run: bool = False) -> dict[str, Any]:
        """Apply one recommendation of the last analysis by id (``manual`` mode: every guardrail
        but the auto/severity rule). Raises KeyError for an unknown id."""
        rec = self.recommendations[rec_id]
        if dry_run:
            return {"id": rec_id, "dry_run": True, "plan": await self.plan(rec)}
        res = await self._decide_and_apply(rec, "manual")
        self._alert_given_up()
        await asyncio.to_thread(self.state.save)
        return {"id": rec_id, **res}

    async def _decide_and_apply(self, rec: Recommendation, mode: str) -> dict[str, Any]:
        dec = self.guard.check(rec, self.cfg, mode)
        if not dec.allowed:
            if rec.action is not None and (mode != "auto" or self.cfg.auto_optimization_enabled):
                self._count(rec.action.type, "refused")
            await self._audit({"event": "recommended", "decision": "refused" if dec.gave_up or
                               rec.action else "skipped", "reason": dec.reason, "mode": mode}, rec)
            return {"decision": {"applied": False, "reason": dec.reason, "gave_up": dec.gave_up}}
        if self.lock.locked():
            return {"decision": {"applied": False, "reason": "another action is running (one at a time)"}}
        async with self.lock:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as e:
                return {"decision": {"applied": False, "reason": f"lock file: {e.strerror}"}}
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return {"decision": {"applied": False, "reason": "another optimizer process is acting"}}
                return await self._run_action(rec, mode)
            finally:
                os.close(fd)

    async def _run_action(self, rec: Recommendation, mode: str) -> dict[str, Any]:
        assert rec.action is not None
        action_id = uuid.uuid4().hex[:12]
        key = rec.action.key
        self.guard.running.add(key)
        base = {"action_id": action_id, "rec_id": rec.id, "action": rec.action.type,
                "target": rec.action.target, "host": rec.action.host, "mode": mode}
        try:
            try:
                action = build_action(rec.action, self.cfg, self.live.local_name, self.clock, self.sleep)
            except OptimizerError as e:
                self._count(rec.action.type, "refused")
                await self._audit({**base, "event": "refused", "reason": str(e)}, rec)
                return {"decision": {"applied": False, "reason": str(e)}}
            self.guard.record(rec)
            now = self.clock.time()
            self.state.in_flight = {**base, "started_at": now}
            await asyncio.to_thread(self.state.save)
            await self._audit({**base, "event": "started"}, rec)
            try:
                result = await action.apply()
            except Exception as e:  # noqa: BLE001 - an action error is a failed action
                log.exception("optimizer action %s failed", rec.action.type)
                from .actions import ActionResult

                result = ActionResult(False, f"{type(e).__name__}: {e}")
            self._count(rec.action.type, "success" if result.ok else "failure")
            entry = {**base, "event": "applied", "time": now, "ok": result.ok, "summary": result.summary,
                     "details": result.details, "measured": result.measured,
                     "effect": {"verdict": "pending", "due_at": now + self.cfg.optimizer.settle_time
                                + self.cfg.optimizer.measure_window} if rec.metric else
                     {"verdict": "not measurable", "why": "no metric to compare"}}
            self.state.in_flight = None
            self.state.history.append(entry)
            if rec.metric:
                self.state.pending.append({**base, "metric": rec.metric, "matchers": rec.matchers,
                                           "better": rec.better, "applied_at": now,
                                           "reversible": ACTIONS[rec.action.type].reversible,
                                           "undo_state": result.undo_state})
                del self.state.pending[:-PENDING_MAX]
            await self._audit(entry, rec)
            await asyncio.to_thread(self.state.save)
            log.info("optimizer %s on %s: %s", rec.action.type, rec.action.target, result.summary)
            return {"decision": {"applied": True, "reason": "allowed"}, "result": entry}
        finally:
            self.guard.running.discard(key)

    # -- effect measurement ----------------------------------------------------------------------
    def _measure(self, p: dict[str, Any]) -> dict[str, Any]:
        """Before/after means of the pending entry's metric (blocking: store reads)."""
        opt = self.cfg.optimizer
        t = p["applied_at"]
        w = opt.measure_window
        store = self.store
        assert store is not None  # tick() measures only with a store
        before = store.mean(p["metric"], p["matchers"], t - w, t)
        after = store.mean(p["metric"], p["matchers"], t + opt.settle_time, t + opt.settle_time + w)
        eff: dict[str, Any] = {"metric": p["metric"], "matchers": p["matchers"], "before": before,
                               "after": after, "before_window": [t - w, t],
                               "after_window": [t + opt.settle_time, t + opt.settle_time + w]}
        if before is None or after is None:
            eff.update(verdict="not measurable", change=None, change_ratio=None,
                       why="no stored samples " + ("before" if before is None else "after") + " the action")
            return eff
        change = after - before
        ratio = change / abs(before) if before else None
        gain = -change if p["better"] == "lower" else change
        small = abs(ratio) < UNCHANGED if ratio is not None else change == 0
        eff.update(change=change, change_ratio=ratio,
                   verdict="unchanged" if small else ("improved" if gain > 0 else "worsened"))
        return eff

    async def tick(self) -> list[dict[str, Any]]:
        """Measure every pending effect whose after-window has passed; undo worsened reversible
        actions. Returns the effect records written."""
        if not self.state.pending or self.store is None:
            return []
        now = self.clock.time()
        opt = self.cfg.optimizer
        due = [p for p in self.state.pending
               if now >= p["applied_at"] + opt.settle_time + opt.measure_window]
        if not due:
            return []
        out = []
        for p in due:
            self.state.pending.remove(p)
            try:
                eff = await asyncio.to_thread(self._measure, p)
            except Exception as e:  # noqa: BLE001
                eff = {"verdict": "not measurable", "why": f"store: {e}"}
            rec = {k: p[k] for k in ("action_id", "rec_id", "action", "target", "host", "mode")}
            entry = {**rec, "event": "effect", "time": now, "effect": eff}
            if eff["verdict"] == "worsened" and p.get("reversible") and p.get("undo_state"):
                entry["undo"] = await self._undo(p)
            for h in self.state.history:
                if h.get("action_id") == p["action_id"] and h.get("event") == "applied":
                    h["effect"] = eff
                    if "undo" in entry:
                        h["undone"] = entry["undo"]
            self.state.history.append(entry)
            await self._audit(entry, None)
            out.append(entry)
        await asyncio.to_thread(self.state.save)
        return out

    async def _undo(self, p: dict[str, Any]) -> dict[str, Any]:
        from .model import ActionRef

        try:
            action = build_action(ActionRef(p["action"], p["target"], p["host"]), self.cfg,
                                  self.live.local_name, self.clock, self.sleep)
            res = await action.undo(p["undo_state"])
        except Exception as e:  # noqa: BLE001
            self._count(p["action"], "failure")
            return {"ok": False, "summary": f"undo failed: {e}"}
        self._count(p["action"], "undone")
        return {"ok": res.ok, "summary": res.summary, "details": res.details}

    # -- audit, alerts, metrics ------------------------------------------------------------------
    async def _audit(self, record: dict[str, Any], rec: Recommendation | None) -> None:
        rec_part = {} if rec is None else {
            "rec_id": rec.id, "category": rec.category, "severity": rec.severity, "host": rec.host,
            "target": rec.target, "title": rec.title, "evidence": rec.evidence}
        line = {"time": self.clock.time(), **rec_part, **record}
        try:
            await asyncio.to_thread(self.audit.append, line)
        except OSError as e:
            log.error("optimizer audit log: %s", e)

    def _count(self, action: str, result: str) -> None:
        self.counts[(action, result)] = self.counts.get((action, result), 0) + 1

    def _alert_given_up(self) -> None:
        if self.alerts is None:
            return
        values: list[tuple[dict[str, str], float | None]] = [
            ({"service": s}, 1.0) for s in sorted(self.state.given_up)]
        with contextlib.suppress(Exception):
            self.alerts.submit(self.alerts.evaluate(give_up_rule(), values))

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.state.history)[-limit:][::-1]

    def families(self) -> list[MetricFamily]:
        total, recs, gave, last_h, last_run = (s.family() for s in OPTIMIZER_SPECS)
        for (a, r), n in sorted(self.counts.items()):
            total.add(n, {"action": a, "result": r})
        if self.analyzed_at is not None:
            counts: dict[tuple[str, str], int] = {}
            for r in self.recommendations.values():
                counts[(r.category, r.severity)] = counts.get((r.category, r.severity), 0) + 1
            for (c, s), n in sorted(counts.items(), key=lambda x: (x[0][0], x[0][1].rank)):
                recs.add(n, {"category": c, "severity": s})
            last_run.add(self.analyzed_at)
        for s in sorted(self.state.given_up):
            gave.add(1, {"service": s})
        last_h.add(self.guard.actions_last_hour())
        return [f for f in (total, recs, gave, last_h, last_run) if f.samples]

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Every monitoring interval measure due effects; every ``optimization_interval`` run an
        ``auto`` cycle. The first cycle comes one optimization interval after start."""
        next_cycle = self.clock.monotonic() + self.cfg.optimization_interval
        while not stop.is_set():
            wait = min(self.cfg.monitoring_interval, max(0.0, next_cycle - self.clock.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                break
            try:
                await self.tick()
                if self.clock.monotonic() >= next_cycle:
                    next_cycle = self.clock.monotonic() + self.cfg.optimization_interval
                    await self.run_cycle("auto")
            except Exception:  # noqa: BLE001 - the optimizer must not end monitoring
                log.exception("optimizer cycle failed")
