"""A data dir seeded with known history (see seed.py), built once per session."""

from __future__ import annotations

import math
import time

import pytest
from seed import DAY, seed


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """``(data_dir, start, end)``: the report day is ``[start, end)``, end = last UTC midnight."""
    d = tmp_path_factory.mktemp("report-data")
    end = float(math.floor(time.time() / DAY) * DAY)
    seed(str(d), end)
    return str(d), end - DAY, end
