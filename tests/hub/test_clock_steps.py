"""Wall-clock steps through the real hub cycle and the real embedded store, on a fake clock: a
forward step that comes back costs only the cycles stamped in the future, a backward step lets the
store accept samples again at once, a restart deletes what a wrong clock stamped ahead, and each
step is logged and counted."""

import logging

from autobot_monitor.clock import FakeClock
from autobot_monitor.config import load_config
from autobot_monitor.hub.service import Hub

DAY = 86400.0
W0 = 1_700_000_000.0


async def _hub(tmp_path, clock: FakeClock) -> Hub:
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text("monitoring_interval: 10\ndashboard_enabled: false\n"
                        "collectors: {enabled: [loadavg]}\n")
    hub = Hub(load_config(str(cfg_path)), str(tmp_path / "d"), str(cfg_path), clock=clock)
    await hub.start()
    return hub


async def _cycles(hub: Hub, clock: FakeClock, n: int) -> list[float]:
    """``n`` cycles 10 s apart; their sample timestamps."""
    out = []
    for _ in range(n):
        clock.advance(10)
        out.append((await hub.run_cycle()).timestamp)
    return out


def _stamps(hub: Hub) -> list[float]:
    """Timestamps of the stored ``autobot_host_up`` samples of the local host, any time."""
    series = hub.store.raw_samples("autobot_host_up", {"host": hub.local_name}, 0, W0 + 10 * DAY)
    return [t for s in series for t, _ in s.points]


def _steps_metric(hub: Hub) -> dict[str, float]:
    fam = next(f for f in hub._hub_families() if f.name == "autobot_clock_steps_total")
    return {s.label_dict["direction"]: s.value for s in fam.samples}


async def test_forward_day_then_back_loses_only_those_cycles(tmp_path, caplog):
    clock = FakeClock(W0)
    hub = await _hub(tmp_path, clock)
    try:
        before = await _cycles(hub, clock, 3)
        clock.set_wall(clock.time() + DAY)
        with caplog.at_level(logging.WARNING):
            ahead = await _cycles(hub, clock, 2)
            assert all(t > W0 + DAY for t in ahead)
            clock.set_wall(clock.time() - DAY)
            after = await _cycles(hub, clock, 3)
        assert _stamps(hub) == before + after  # nothing later is blanked; the day-ahead ones gone
        assert _steps_metric(hub) == {"forward": 1.0, "backward": 1.0}
        steps = [r.getMessage() for r in caplog.records if "wall clock stepped" in r.getMessage()]
        assert len(steps) == 2 and "forward" in steps[0] and "backward" in steps[1]
        assert hub.store.stats.future_dropped > 0
    finally:
        await hub.close()


async def test_permanent_step_back_of_an_hour_stores_within_one_cycle(tmp_path):
    clock = FakeClock(W0)
    hub = await _hub(tmp_path, clock)
    try:
        await _cycles(hub, clock, 3)
        clock.set_wall(clock.time() - 3600)
        first = (await _cycles(hub, clock, 1))[0]
        assert first in _stamps(hub)  # stored by the first cycle after the step
        later = await _cycles(hub, clock, 2)
        assert _stamps(hub)[-3:] == [first, *later]
        assert _steps_metric(hub) == {"forward": 0.0, "backward": 1.0}
    finally:
        await hub.close()


async def test_restart_after_a_forward_step_blanks_nothing(tmp_path):
    clock = FakeClock(W0)
    hub = await _hub(tmp_path, clock)
    try:
        before = await _cycles(hub, clock, 3)
        clock.set_wall(clock.time() + DAY)
        await _cycles(hub, clock, 2)
    finally:
        await hub.close()  # flushes the day-ahead samples into chunks on disk
    clock.set_wall(clock.time() - DAY)
    hub = await _hub(tmp_path, clock)
    try:
        after = await _cycles(hub, clock, 2)
        assert _stamps(hub) == before + after
        assert hub.store.stats.future_dropped > 0
        assert _steps_metric(hub) == {"forward": 0.0, "backward": 0.0}  # a restart is no step
    finally:
        await hub.close()
