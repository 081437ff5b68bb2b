"""A hub whose store reaches ``storage.max_disk_bytes``: every file of the store stays under the
cap, each refused cycle is counted in autobot_hub_store_errors_total, and the refusal is logged
once, not per cycle."""

import logging
import os

from autobot_monitor.clock import FakeClock
from autobot_monitor.config import load_config
from autobot_monitor.hub.service import Hub

W0 = 1_700_000_000.0
CAP = 131072


def _metric(hub: Hub, name: str) -> float:
    return next(f for f in hub._hub_families() if f.name == name).samples[0].value


async def test_store_cap_refuses_counts_and_logs_once(tmp_path, caplog):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 10\ndashboard_enabled: false\n"
                   f"collectors: {{enabled: [loadavg]}}\nstorage: {{max_disk_bytes: {CAP}}}\n")
    clock = FakeClock(W0)
    hub = Hub(load_config(str(cfg)), str(tmp_path / "d"), str(cfg), clock=clock)
    await hub.start()
    base = os.path.basename(hub.store.path)
    folder = os.path.dirname(hub.store.path)
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(2000):
                clock.advance(10)
                await hub.run_cycle()
                used = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
                           if n.startswith(base))
                assert used <= CAP
                if _metric(hub, "autobot_hub_store_errors_total") >= 3:
                    break
        assert _metric(hub, "autobot_hub_store_errors_total") == 3
        assert _metric(hub, "autobot_store_writes_refused") == 1.0
        msgs = [r.getMessage() for r in caplog.records]
        assert sum("store write failed" in m for m in msgs) == 1  # the hub's line
        assert sum(r.name.endswith("store.engine") and "refuses writes" in r.getMessage()
                   for r in caplog.records) == 1  # the store's line, with the reason
    finally:
        await hub.close()
