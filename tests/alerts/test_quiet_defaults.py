"""Quiet defaults: the hub's own host is `high`, CPU and memory rules judge a 5-minute average
(a bursty CPU that keeps a raw 3-cycle rule flipping pending/inactive makes no transition at all),
and an alert that fires again within the flap window after it resolved is notified once, as
flapping."""

from __future__ import annotations

import asyncio

from autobot_monitor.alerts.config import AlertingConfig, RuleConfig
from autobot_monitor.alerts.defaults import RESOURCE_WINDOW, default_rules
from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.alerts.service import AlertService
from autobot_monitor.clock import FakeClock
from autobot_monitor.config.models import AlertThresholds, MonitorConfig, StorageConfig
from autobot_monitor.model import MetricFamily
from autobot_monitor.store import Series, open_store


def test_local_host_defaults_to_high_and_resource_rules_average():
    assert MonitorConfig().local_host.priority == "high"
    rules = {r.name: r for r in default_rules(AlertThresholds(), 10)}
    for name in ("HighCpuUsage", "HighMemoryUsage"):
        assert rules[name].fn == "avg" and rules[name].window == RESOURCE_WINDOW == 300
    assert AlertingConfig().flap_threshold == 3


async def test_bursty_cpu_flaps_a_raw_rule_but_not_the_averaged_default(tmp_path):
    clock = FakeClock()
    store = open_store(StorageConfig(), str(tmp_path))
    avg_rule = next(r for r in default_rules(AlertThresholds(), 10) if r.name == "HighCpuUsage")
    raw_rule = RuleConfig.model_validate({**avg_rule.model_dump(by_alias=True), "name": "RawCpu",
                                          "fn": "value"})
    svc = AlertService([avg_rule, raw_rule], AlertingConfig(), clock, store, None, interval=10)
    labels = (("cpu", "all"), ("host", "box"))
    filled = clock.time() + RESOURCE_WINDOW  # from then on the window is full of readings
    try:
        for i in range(90):  # 15 minutes: 3 cycles at 95 %, 2 at 40 %, average 73 %
            clock.advance(10)
            v = 95.0 if i % 5 < 3 else 40.0
            await asyncio.to_thread(store.write, [Series(
                "autobot_cpu_busy_percent", dict(labels), [(clock.time(), v)], "gauge")])
            fam = MetricFamily("autobot_cpu_busy_percent", "gauge", "cpu", "percent")
            fam.add(v, dict(labels))
            await svc.evaluate([fam], {"box": "high"})
        by_rule = {}
        for h in svc.engine.history:
            if h["time"] > filled:
                by_rule[h["rule"]] = by_rule.get(h["rule"], 0) + 1
        assert by_rule.get("HighCpuUsage", 0) == 0
        assert by_rule["RawCpu"] >= 20  # pending <-> inactive, every burst
    finally:
        await svc.aclose()
        store.close()


def test_firing_again_soon_after_resolving_is_one_flapping_notification():
    clock = FakeClock()
    eng = AlertEngine(clock)  # default settings: 3 changes within 1 h
    r = RuleConfig.model_validate({"name": "Hot", "metric": "m", "threshold": 80, "for": 0})
    kinds = []
    for v in [90, 10, 90, 10, 90, 10, 90]:
        kinds += [n.kind for n in eng.evaluate(r, [({"host": "h"}, float(v))])]
        clock.advance(60)
    assert kinds == ["firing", "resolved", "flapping"]
    (a,) = eng.active()
    assert a.flapping and a.state == "firing"


async def test_window_rule_needs_half_its_window_of_data(tmp_path):
    """A fresh start with a busy CPU: the 5 m average is not claimed from seconds of data, so
    HighCpuUsage stays quiet until readings reach back half the window; a firing alert whose
    window is short again (data gap after a restart) is kept, not resolved."""
    clock = FakeClock()
    store = open_store(StorageConfig(), str(tmp_path))
    rule = next(r for r in default_rules(AlertThresholds(), 10) if r.name == "HighCpuUsage")
    rule = RuleConfig.model_validate({**rule.model_dump(by_alias=True), "for": 0})
    svc = AlertService([rule], AlertingConfig(), clock, store, None, interval=10)
    labels = (("cpu", "all"), ("host", "box"))
    start = clock.time()

    async def cycle(v: float) -> list[str]:
        clock.advance(10)
        await asyncio.to_thread(store.write, [Series(
            "autobot_cpu_busy_percent", dict(labels), [(clock.time(), v)], "gauge")])
        return [n.kind for n in await svc.evaluate([], {"box": "high"})]

    try:
        fired_at = None
        for _ in range(40):
            if await cycle(99.9) == ["firing"]:
                fired_at = clock.time()
                break
        assert fired_at is not None and fired_at - start >= RESOURCE_WINDOW / 2
        assert svc.rule_series["HighCpuUsage"] == 1
        clock.advance(RESOURCE_WINDOW)  # the hub was down: the window now holds one reading
        assert await cycle(10.0) == []
        assert [a.state for a in svc.engine.active()] == ["firing"]
        kinds = [k for _ in range(20) for k in await cycle(10.0)]
        assert kinds == ["resolved"]  # once the window is covered again, measured and cleared
    finally:
        await svc.aclose()
        store.close()
