"""The alerting component the hub runs each cycle: rules -> values -> engine -> dispatcher.

:class:`AlertService` evaluates every rule against the samples of the cycle (``fn: value``) or
against stored history over the rule's window (``avg``, ``max``, ``min``, ``rate``,
``time_to_threshold``), feeds the engine, submits notifications, persists state to
``<data_dir>/alerts_state.json`` (atomic replace, off the event loop) and exposes its metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast

from .. import atomicfile
from ..clock import Clock
from ..matchers import Matcher, match_all
from ..model import MetricFamily, Sample
from ..store.base import Series
from .config import AlertingConfig, RuleConfig
from .engine import AlertEngine, EngineSettings, Notification
from .functions import (
    AnomalyBaseline,
    counter_rate,
    covers,
    time_to_threshold,
    window_avg,
    window_max,
    window_min,
)
from .health import RuleHealth
from .metrics import ALERT_SPECS
from .notify import Dispatcher

log = logging.getLogger(__name__)


DRAIN_DEADLINE = 30.0  # seconds a replaced dispatcher has to deliver what it holds
_WINDOW_FNS = {"avg": window_avg, "max": window_max, "min": window_min, "rate": counter_rate}
_COVERED_FNS = ("avg", "max", "min")  # claim the whole window: need data over half of it
Index = dict[str, list[Sample]]
Values = list[tuple[dict[str, str], float | None]]
"""``(labels, value)`` per label set; ``None``: no value this cycle."""
WindowValues = dict[str, tuple[Values, list[dict[str, str]]]]
"""rule name -> (values, labels of series too short for the window)."""


class HistoryStore(Protocol):
    """What the window functions need of the hub's store."""

    def query_range(self, name: str, matchers: Sequence[Matcher], start: float, end: float,
                    step: float) -> Sequence[Series]: ...


def build_index(families: Iterable[MetricFamily], wanted: set[str] | None = None) -> Index:
    """sample name -> samples of the cycle, for the metric names in ``wanted`` (all when None);
    a histogram's samples are indexed under their own names (``x_bucket``, ``x_sum``...)."""
    idx: Index = {}
    for f in families:
        if f.type == "histogram":
            for s in f.samples:
                if wanted is None or s.name in wanted:
                    idx.setdefault(s.name, []).append(s)
        elif wanted is None or f.name in wanted:
            idx.setdefault(f.name, []).extend(f.samples)
    return idx


def _label(labels: tuple[tuple[str, str], ...], key: str) -> str:
    for k, v in labels:
        if k == key:
            return v
    return ""


class Selector:
    """Selects a rule's samples from an :data:`Index`. An equality matcher is answered from a
    per-(metric, label) inverted index built lazily once per cycle, so many rules each picking a
    few series out of a large metric cost a dict lookup each instead of a scan; label dicts are
    only built for the candidates."""

    def __init__(self, idx: Index):
        self.idx = idx
        self._eq: dict[tuple[str, str], dict[str, list[Sample]]] = {}

    def select(self, metric: str, match: Sequence[Matcher]) -> Values:
        rows: Sequence[Sample] = self.idx.get(metric, ())
        eq = [(m.name, m.value) for m in match if m.op == "="]
        if eq and len(rows) > 16:
            k, v = eq[0]
            inv = self._eq.get((metric, k))
            if inv is None:
                inv = {}
                for row in rows:
                    inv.setdefault(_label(row.labels, k), []).append(row)
                self._eq[(metric, k)] = inv
            rows = inv.get(v, ())
        out: Values = []
        for row in rows:
            lab = dict(row.labels)
            if match_all(match, lab):
                out.append((lab, row.value))
        return out


class AlertService:
    """Rules, engine and dispatcher for one hub. ``store`` is the hub's store (for window
    functions); ``state_path`` the JSON file holding the engine state across restarts."""

    def __init__(self, rules: list[RuleConfig], cfg: AlertingConfig, clock: Clock,
                 store: HistoryStore | None = None, state_path: str | None = None,
                 interval: float = 10.0):
        self.rules = rules
        self.cfg = cfg
        self.clock = clock
        self.store = store
        self.state_path = state_path
        self.interval = interval
        self.engine = AlertEngine(clock, EngineSettings(cfg.flap_window, cfg.flap_threshold,
                                                        cfg.repeat_interval, cfg.history_size))
        self.dispatcher = Dispatcher(list(cfg.channels), clock, cfg.group_wait)
        self.rule_series: dict[str, int] = {}
        self.rule_seen: dict[str, bool] = {r.name: False for r in rules}
        self._baselines: dict[tuple[str, str], AnomalyBaseline] = {}
        self._eval_s: float | None = None
        self._warned: set[str] = set()
        self.health = RuleHealth()
        self._draining: set[asyncio.Task[int]] = set()
        if state_path and os.path.exists(state_path):
            try:
                with open(state_path, encoding="utf-8") as f:
                    self.engine.load_state(json.load(f))
            except (OSError, ValueError) as e:
                log.error("cannot read alert state %s: %s (starting empty)", state_path, e)

    def start(self) -> None:
        self.dispatcher.start()

    def reconfigure(self, rules: list[RuleConfig], cfg: AlertingConfig, interval: float) -> None:
        """New rules and settings; alert state, silences, history and rule health are kept.
        With the same channels and ``group_wait`` the dispatcher is kept as it is; else a new
        one takes over and the old one delivers everything it holds (grouped, queued, in
        flight) within :data:`DRAIN_DEADLINE` seconds, in the background."""
        channels_same = (list(cfg.channels), cfg.group_wait) == (list(self.cfg.channels),
                                                                self.cfg.group_wait)
        self.rules, self.cfg, self.interval = rules, cfg, interval
        self.engine.settings = EngineSettings(cfg.flap_window, cfg.flap_threshold,
                                              cfg.repeat_interval, cfg.history_size)
        self.rule_seen = {r.name: self.rule_seen.get(r.name, False) for r in rules}
        self.health.keep({r.name for r in rules})
        if channels_same:
            return
        old = self.dispatcher
        # the counts carry over: autobot_notifications_total stays monotonic
        self.dispatcher = Dispatcher(list(cfg.channels), self.clock, cfg.group_wait, old.counts)
        self.dispatcher.start()
        task = asyncio.ensure_future(old.drain(DRAIN_DEADLINE))
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)

    async def evaluate(self, families: list[MetricFamily], priorities: dict[str, str]) -> list[Notification]:
        """Evaluate every rule on this cycle's ``families``; returns what was notified."""
        t0 = time.perf_counter()
        idx = build_index(families, {r.metric for r in self.rules})
        sel = Selector(idx)
        windows = [r for r in self.rules if r.fn in _WINDOW_FNS or r.fn == "time_to_threshold"]
        history, errors, spent = (await asyncio.to_thread(self._window_values, windows)
                                  if windows and self.store else ({}, {}, {}))
        now = self.clock.time()
        notes: list[Notification] = []
        for rule in self.rules:
            t_rule = time.perf_counter()
            if rule.name in errors:
                # no data is not "cleared": its alerts stay as they were until a query succeeds
                self.health.record(rule.name, now, spent.get(rule.name, 0.0), errors[rule.name])
                continue
            short: list[dict[str, str]] = []  # series too short for the window: not measured
            if rule.fn == "value":
                values = sel.select(rule.metric, rule.match)
            elif rule.fn == "anomaly":
                values = self._anomaly(rule, idx)
            else:
                values, short = history.get(rule.name, ([], []))
            self.rule_series[rule.name] = len(values) + len(short)
            if values or short or rule.metric in idx:
                self.rule_seen[rule.name] = True
            notes += self.engine.evaluate(rule, values, priorities, short)
            self.health.record(rule.name, now,
                               spent.get(rule.name, 0.0) + time.perf_counter() - t_rule)
        self.dispatcher.submit(notes)
        self.engine.prune()
        self._eval_s = time.perf_counter() - t0
        if self.engine.dirty and self.state_path:
            self.engine.dirty = False
            await asyncio.to_thread(self._save, self.engine.to_state())
        return notes

    def _window_values(self, rules: list[RuleConfig]
                       ) -> tuple[WindowValues, dict[str, str], dict[str, float]]:
        """(rule name -> ([(labels, value)], [labels of series too short for the window]), rule
        name -> error of a failed query, rule name -> seconds its query took), from the store
        (blocking: runs in a worker thread). A series whose points do not reach back to the
        first half of the window (:func:`.functions.covers`) gets no value for ``avg``/``max``/``min``:
        not measured (``rate`` and ``time_to_threshold`` are per second over the span present)."""
        now = self.clock.time()
        out: WindowValues = {}
        errors: dict[str, str] = {}
        spent: dict[str, float] = {}
        for rule in rules:
            t0 = time.perf_counter()
            try:
                assert self.store is not None  # only called with a store
                series = self.store.query_range(rule.metric, rule.match, now - rule.window, now,
                                                max(self.interval, rule.window / 1000))
            except Exception as e:  # noqa: BLE001 - a store problem must not stop alerting
                log.error("rule %s: history query failed: %s", rule.name, e)
                errors[rule.name] = f"history query failed: {type(e).__name__}: {str(e)[:300]}"
                spent[rule.name] = time.perf_counter() - t0
                continue
            spent[rule.name] = time.perf_counter() - t0
            vals: Values = []
            short: list[dict[str, str]] = []
            for s in series:
                if rule.fn in _COVERED_FNS and not covers(s.points, now - rule.window, rule.window):
                    short.append(dict(s.labels))
                elif rule.fn == "time_to_threshold":
                    vals.append((dict(s.labels), time_to_threshold(s.points, cast(float, rule.target))))
                else:
                    vals.append((dict(s.labels), _WINDOW_FNS[rule.fn](s.points)))
            out[rule.name] = (vals, short)
        return out, errors, spent

    def _anomaly(self, rule: RuleConfig, idx: Index) -> Values:
        out: Values = []
        live: set[tuple[str, str]] = set()
        for row in idx.get(rule.metric, ()):
            lab, v = dict(row.labels), row.value
            if not match_all(rule.match, lab):
                continue
            key = (rule.name, json.dumps(lab, sort_keys=True))
            live.add(key)
            out.append((lab, self._baselines.setdefault(key, AnomalyBaseline()).update(v)))
        for key in [k for k in self._baselines if k[0] == rule.name and k not in live]:
            del self._baselines[key]
        return out

    def _save(self, state: dict[str, Any]) -> None:
        if not self.state_path:
            return
        try:
            atomicfile.write_json(self.state_path, state, separators=(",", ":"), default=str)
        except OSError as e:
            log.error("cannot save alert state to %s: %s", self.state_path, e)

    def unseen_rules(self) -> list[str]:
        """Rules whose metric has never appeared since the hub started."""
        return [name for name, seen in self.rule_seen.items() if not seen]

    def families(self) -> list[MetricFamily]:
        total, active, series, dur = (s.family() for s in ALERT_SPECS)
        for (cat, sev), n in sorted(self.engine.fired_counts.items()):
            total.add(n, {"category": cat, "severity": sev})
        for sev_name, n in self.engine.firing_counts().items():
            active.add(n, {"severity": sev_name})
        for name, n in sorted(self.rule_series.items()):
            series.add(n, {"rule": name})
        if self._eval_s is not None:
            dur.add(self._eval_s)
        return [total, active, series, dur, *self.dispatcher.families()]

    async def aclose(self) -> None:
        for task in list(self._draining):
            task.cancel()
        self.dispatcher.flush(force=True)
        await asyncio.sleep(0)
        await self.dispatcher.aclose()
        if self.state_path:
            await asyncio.to_thread(self._save, self.engine.to_state())
