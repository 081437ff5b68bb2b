"""Real hub processes with access control, TLS and fault injection (issue 9)."""

from __future__ import annotations

import pytest
from secsupport import AUTH_YAML, RULE_YAML, Hub


@pytest.fixture(scope="module")
def auth_hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("auth"), AUTH_YAML + RULE_YAML)
    hub.wait_cycles(3)
    yield hub
    hub.stop()
