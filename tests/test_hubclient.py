"""The hub's HTTP client (the Python control API): errors are MonitorError, a benchmark runs off the event loop."""

import pytest

from autobot_monitor.errors import MonitorError
from autobot_monitor.hubclient import MonitorControl
from support import free_port


async def test_unreachable_hub_is_a_monitor_error():
    async with MonitorControl(f"http://127.0.0.1:{free_port()}", timeout=1) as mc:
        with pytest.raises(MonitorError):
            await mc.get_current_status()


async def test_run_single_benchmark_system(tmp_path):
    async with MonitorControl() as mc:
        res = await mc.run_single_benchmark("system", duration=1, scratch_dir=str(tmp_path),
                                            disk_bytes=8 * 1024 * 1024)
    assert res["type"] == "system"
    score = res["categories"]["system"]["score"]
    assert score is None or 0 <= score <= 100
    assert list(tmp_path.iterdir()) == []  # scratch files removed
