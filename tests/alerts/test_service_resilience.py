"""The alert service through store errors and reloads: a windowed rule whose history query fails
keeps its alerts as they were and reports rule health ``err`` (as Prometheus's rule health);
a reload that replaces the channels delivers everything the old dispatcher held."""

from __future__ import annotations

import asyncio

import pytest

from autobot_monitor.alerts.config import AlertingConfig, ChannelConfig, RuleConfig
from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.alerts.notify import Dispatcher
from autobot_monitor.alerts.service import AlertService
from autobot_monitor.clock import FakeClock
from autobot_monitor.config.models import StorageConfig
from autobot_monitor.errors import StoreError
from autobot_monitor.store import Series, open_store
from support import Receiver

pytestmark = pytest.mark.timeout(60)

RULE = RuleConfig.model_validate({
    "name": "HotAvg", "metric": "autobot_cpu_busy_percent", "fn": "avg", "window": "1m",
    "op": ">", "threshold": 80, "for": "10s", "severity": "high", "summary": "{{ value }}"})


class FlakyStore:
    """The real store, except that ``query_range`` raises StoreError while ``fail`` is set."""

    def __init__(self, store):
        self.store, self.fail = store, False

    def query_range(self, *a, **kw):
        if self.fail:
            raise StoreError("database is locked")
        return self.store.query_range(*a, **kw)


async def cycle(svc, store, clock, value):
    clock.advance(10)
    now = clock.time()
    await asyncio.to_thread(store.store.write, [Series(
        "autobot_cpu_busy_percent", {"cpu": "all", "host": "h1"}, [(now, value)], "gauge")])
    return [n.kind for n in await svc.evaluate([], {})]


async def test_failed_history_query_keeps_alert_and_records_rule_health(tmp_path):
    clock = FakeClock()
    store = FlakyStore(open_store(StorageConfig(), str(tmp_path)))
    svc = AlertService([RULE], AlertingConfig(), clock, store, None, interval=10)
    assert svc.health.get("HotAvg")["health"] == "unknown"
    try:
        kinds = [await cycle(svc, store, clock, 95.0) for _ in range(6)]  # 30 s of data first
        assert ["firing"] in kinds and svc.engine.firing_counts()["high"] == 1
        ok = svc.health.get("HotAvg")
        assert ok["health"] == "ok" and ok["lastError"] == "" and ok["evaluationTime"] >= 0
        store.fail = True
        for _ in range(3):
            assert await cycle(svc, store, clock, 95.0) == []  # neither resolved nor re-fired
        err = svc.health.get("HotAvg")
        assert err["health"] == "err" and "StoreError: database is locked" in err["lastError"]
        assert err["lastEvaluation"].endswith("Z")
        (a,) = svc.engine.active()
        assert a.state == "firing"
        store.fail = False
        assert await cycle(svc, store, clock, 95.0) == []
        assert svc.health.get("HotAvg")["health"] == "ok"
        assert [h["to"] for h in svc.engine.history] == ["pending", "firing"]
    finally:
        await svc.aclose()
        store.store.close()


def slow_hook() -> Receiver:
    """A real webhook receiver that takes 0.3 s per POST; ``statuses(hook)`` reads the rules."""
    return Receiver(delay=0.3)


def statuses(hook: Receiver) -> list[str]:
    return [a["rule"] for _, body in hook.posts for a in body["alerts"]]


async def test_reload_drains_old_dispatcher_losing_nothing():
    hook = slow_hook()
    clock = FakeClock()
    rules = [RuleConfig.model_validate({"name": f"R{i}", "metric": "m", "threshold": 1,
                                        "severity": "high"}) for i in range(5)]
    cfg = AlertingConfig(channels=[ChannelConfig(name="hook", type="webhook", url=hook.url + "/hook")])
    svc = AlertService(rules, cfg, clock, None, None, interval=10)
    svc.start()
    try:
        eng = AlertEngine(clock)
        notes = [n for r in rules for n in eng.evaluate(r, [({"host": "h"}, 5.0)])]
        svc.dispatcher.submit(notes)  # five groups: one in flight, four queued
        old = svc.dispatcher
        svc.reconfigure(rules, AlertingConfig(channels=[ChannelConfig(
            name="hook", type="webhook", url=hook.url + "/hook", timeout=9)]), 10)
        assert svc.dispatcher is not old
        await asyncio.wait_for(asyncio.gather(*svc._draining), 30)
        assert sorted(statuses(hook)) == [f"R{i}" for i in range(5)]
        assert svc.dispatcher.counts[("hook", "sent")] == 5
        assert all(ch.task.done() for ch in old.channels)  # and the old one is closed
    finally:
        await svc.aclose()
        hook.stop()


async def test_drain_deadline_counts_what_it_could_not_deliver():
    hook = slow_hook()
    clock = FakeClock()
    d = Dispatcher([ChannelConfig(name="hook", type="webhook", url=hook.url + "/hook")], clock)
    d.start()
    eng = AlertEngine(clock)
    rules = [RuleConfig.model_validate({"name": f"R{i}", "metric": "m", "threshold": 1})
             for i in range(3)]
    d.submit([n for r in rules for n in eng.evaluate(r, [({}, 5.0)])])
    assert await d.drain(0.05) == 3  # none finished within the deadline
    assert d.counts[("hook", "dropped")] == 3
    hook.stop()
