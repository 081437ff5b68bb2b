"""Helpers for the optimizer tests: configs, synthetic series, a hub-shaped object."""

from __future__ import annotations

import random
import types

from autobot_monitor.config.loader import parse_config
from autobot_monitor.optimizer.model import AnalysisInput, HostInput
from autobot_monitor.optimizer.service import AlertHook, OptimizerService
from autobot_monitor.store.base import Series

NOW = 1_700_000_000.0


def cfg(text: str = ""):
    return parse_config(text)


def series(name: str, labels: dict, values, start: float = NOW - 3600, step: float = 60.0):
    return Series(name, labels, [(start + i * step, v) for i, v in enumerate(values)])


def linear(a: float, per_step: float, n: int = 61, noise: float = 0.0, seed: int = 1):
    rnd = random.Random(seed)
    return [a + per_step * i + (rnd.uniform(-noise, noise) if noise else 0.0) for i in range(n)]


def inp(config=None, hosts=None, services=None, history=None, **kw) -> AnalysisInput:
    c = config or cfg()
    return AnalysisInput(NOW, 3600.0, hosts or [], services or {}, history or {},
                         c.alert_thresholds, c.optimizer, **kw)


def host(name="box", local=True, summary=None, current=None) -> HostInput:
    return HostInput(name, True, summary or {}, current or {}, local)


def optimizer_over(config, data_dir, clock, store=None, services=None, alerts=None):
    """An OptimizerService over a hub-shaped state without collectors; ``alerts`` (an
    AlertService) receives the give-up alert."""
    live = types.SimpleNamespace(config=config, hosts={}, services=services or {}, local_name="box")
    hook = AlertHook(alerts.engine.evaluate, alerts.dispatcher.submit) if alerts else None
    return OptimizerService(live, store, clock, str(data_dir), hook)
