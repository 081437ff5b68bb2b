"""Default host-health rules on what the systemd and smart collectors really emit (recorded
systemctl / smartctl answers replayed through the collectors): a failed unit fires after 5
minutes, a crash-looping service after 15, a failing disk and pending sectors at once; a healthy
or SMART-less disk never does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from autobot_monitor import catalog
from autobot_monitor.alerts.config import AlertingConfig
from autobot_monitor.alerts.defaults import default_rules, host_health_rules
from autobot_monitor.alerts.service import AlertService
from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.command import CommandResult
from autobot_monitor.collectors.smart import SmartCollector
from autobot_monitor.collectors.systemd import SystemdCollector
from autobot_monitor.config.models import AlertThresholds, StorageConfig
from autobot_monitor.store import Series, open_store

FIX = Path(__file__).resolve().parents[1] / "fixtures"
RULES = ("SystemdUnitFailed", "SystemdServiceCrashlooping", "SmartDeviceFailing",
         "SmartPendingSectors")


def systemd_families(tmp_path: Path) -> list:
    root = tmp_path / "root"
    (root / "run" / "systemd" / "system").mkdir(parents=True, exist_ok=True)

    def run(argv, timeout):
        name = ("list-units" if "list-units" in argv else
                "show-units" if any(a.startswith("--property=Id") for a in argv) else "manager")
        return CommandResult("ok", 0, (FIX / "systemd" / f"{name}.txt").read_text())

    return SystemdCollector(CollectorContext(rootfs=str(root)), run=run).collect()


def smart_families() -> list:
    answers = {"/dev/sda": "unsupported-qemu", "/dev/sdb": "sata-failing",
               "/dev/nvme0": "nvme-healthy", "/dev/sdd": "sata-healthy"}

    def run(argv, timeout):
        return CommandResult("ok", 0, (FIX / "smart" / f"{answers[argv[-1]]}.json").read_text())

    ctx = CollectorContext(options={"smart": {"devices": list(answers)}})
    return SmartCollector(ctx, run=run).collect()


def test_the_rules_name_metrics_the_catalog_knows():
    rules = {r.name: r for r in default_rules(AlertThresholds(), 10)}
    for name in RULES:
        assert catalog.is_known_metric(rules[name].metric), name
    assert [r.name for r in host_health_rules(10)] == list(RULES)


async def _cycles(tmp_path, families, minutes, store=None):
    clock = FakeClock()
    rules = [r for r in default_rules(AlertThresholds(), 10) if r.name in RULES]
    svc = AlertService(rules, AlertingConfig(), clock, store, None, interval=10)
    fams = [f.with_labels({"host": "box"}) for f in families]
    firing_at: dict[tuple, float] = {}
    start = clock.time()
    try:
        for _ in range(minutes * 6):
            clock.advance(10)
            await svc.evaluate(fams, {"box": "high"})
            for a in svc.engine.active():
                if a.state == "firing":
                    key = (a.rule, a.labels.get("name") or a.labels.get("device"))
                    firing_at.setdefault(key, clock.time() - start)
        return firing_at, {a.fingerprint: a for a in svc.engine.active()}
    finally:
        await svc.aclose()


async def test_failed_unit_fires_after_five_minutes_only_for_that_unit(tmp_path):
    firing, _ = await _cycles(tmp_path, systemd_families(tmp_path), 8)
    units = {k[1]: t for k, t in firing.items() if k[0] == "SystemdUnitFailed"}
    assert set(units) == {"nginx.service"}
    assert 300 <= units["nginx.service"] <= 320


async def test_failing_disk_and_pending_sectors_fire_at_once_healthy_and_unsupported_never(tmp_path):
    firing, active = await _cycles(tmp_path, smart_families(), 3)
    assert set(firing) == {("SmartDeviceFailing", "sdb"), ("SmartPendingSectors", "sdb")}
    assert firing[("SmartDeviceFailing", "sdb")] <= 20
    sev = {a.rule: a.severity for a in active.values()}
    assert sev["SmartDeviceFailing"] == "critical"


async def test_a_crash_looping_service_fires_after_fifteen_minutes(tmp_path):
    store = open_store(StorageConfig(), str(tmp_path / "store"))
    clock_start = FakeClock().time()
    try:
        # NRestarts climbing by 1 a minute (1/60 per second > 2 restarts in 5 m)
        await asyncio.to_thread(store.write, [Series(
            "node_systemd_service_restart_total", {"host": "box", "name": "flaky.service"},
            [(clock_start + 10 * i, float(i // 6)) for i in range(1, 6 * 40)], "counter")])
        fam = next(f for f in systemd_families(tmp_path)
                   if f.name == "node_systemd_service_restart_total")
        firing, _ = await _cycles(tmp_path, [fam], 20, store)
    finally:
        store.close()
    loops = {k[1]: t for k, t in firing.items() if k[0] == "SystemdServiceCrashlooping"}
    assert set(loops) == {"flaky.service"}
    assert loops["flaky.service"] >= 900


def test_exported_host_rules_are_promql(tmp_path):
    from autobot_monitor.alerts.promrules import export_rules

    text = export_rules(host_health_rules(10))
    assert 'node_systemd_unit_state{state="failed"} == 1' in text
    assert "smartctl_device_smart_status == 0" in text
    assert "rate(node_systemd_service_restart_total[5m]) > 0.00666667" in text
    assert ('smartctl_device_attribute{attribute_name="Current_Pending_Sector",'
            'attribute_value_type="raw"}') in text  # "> 0" wraps onto the next YAML line
