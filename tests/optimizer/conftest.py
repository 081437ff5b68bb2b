import pytest

from autobot_monitor.clock import FakeClock

NOW = 1_700_000_000.0


@pytest.fixture
def clock():
    return FakeClock(wall=NOW, mono=1000.0)
