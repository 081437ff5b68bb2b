"""A reload that arrives while a cycle is collecting waits for the cycle: it must not close the
runner and checker the cycle is using (that once ended the cycle loop for good)."""

import asyncio

import pytest

from autobot_monitor.config import load_config
from autobot_monitor.hub.service import Hub


async def test_reload_during_a_cycle_waits_for_it(tmp_path):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text("monitoring_interval: 1\ndashboard_enabled: false\n"
                        "collectors: {enabled: [cpu, loadavg, memory]}\n")
    hub = Hub(load_config(str(cfg_path)), str(tmp_path / "d"), str(cfg_path))
    await hub.start()
    try:
        runner = hub.runner
        original = runner.run
        started, release = asyncio.Event(), asyncio.Event()

        async def held_run():
            started.set()
            await release.wait()  # the reload lands here, mid-collection
            return await original()

        class WatchedLock(asyncio.Lock):
            """The hub's cycle lock, telling when someone waits for it."""
            contended = asyncio.Event()

            async def acquire(self):
                if self.locked():
                    self.contended.set()
                return await super().acquire()

        hub._cycle_lock = lock = WatchedLock()
        runner.run = held_run
        cycle = asyncio.create_task(hub.run_cycle())
        await started.wait()
        # changed collector settings: the reload rebuilds the runner the cycle is using
        cfg_path.write_text("monitoring_interval: 1\ndashboard_enabled: false\n"
                            "collectors: {enabled: [cpu, memory]}\n")
        reload = asyncio.create_task(hub.reload())
        contended = asyncio.create_task(lock.contended.wait())
        await asyncio.wait([reload, contended], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not contended.done():
            contended.cancel()
            pytest.fail("the reload did not wait for the running cycle")
        assert not reload.done() and hub.runner is runner  # waiting: nothing swapped yet
        release.set()
        snap = await cycle  # raised "cannot schedule new futures after shutdown" before the fix
        assert await reload is None
        assert snap.timestamp > 0
        assert hub.runner is not runner  # the reload did apply, after the cycle
        await hub.run_cycle()
    finally:
        await hub.close()
