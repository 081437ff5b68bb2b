"""Window functions, prediction and the anomaly baseline."""

import math

from hypothesis import given
from hypothesis import strategies as st

from autobot_monitor.alerts.functions import (
    AnomalyBaseline,
    counter_rate,
    theil_sen,
    time_to_threshold,
    window_avg,
    window_max,
)


def test_window_aggregates_ignore_missing_and_nonfinite():
    pts = [(0, 1.0), (1, None), (2, math.nan), (3, 5.0)]
    assert window_avg(pts) == 3.0 and window_max(pts) == 5.0
    assert window_avg([]) is None and window_avg([(0, None)]) is None


def test_counter_rate_survives_a_reset():
    # 0 -> 10 -> 20, reset to 5, -> 15: increase 10 + 10 + 5 + 10 = 35 over 40 s
    pts = [(0, 0.0), (10, 10.0), (20, 20.0), (30, 5.0), (40, 15.0)]
    assert counter_rate(pts) == 35 / 40
    assert counter_rate([(0, 1.0)]) is None


def test_theil_sen_ignores_an_outlier():
    pts = [(t, 2.0 * t + 10) for t in range(20)]
    pts[7] = (7, 1000.0)
    slope, intercept = theil_sen(pts)
    assert math.isclose(slope, 2.0) and math.isclose(intercept, 10.0)


def test_time_to_threshold():
    pts = [(t * 60.0, 50.0 + t) for t in range(31)]  # +1 %/min, now at 80 %
    assert math.isclose(time_to_threshold(pts, 100), 20 * 60)
    assert time_to_threshold(pts, 10) is None  # heading away
    assert time_to_threshold([(t, 5.0) for t in range(10)], 100) is None  # flat
    assert time_to_threshold(pts[:2], 100) is None  # too few points


def test_anomaly_score_flags_a_spike_after_warmup():
    b = AnomalyBaseline(alpha=0.1, warmup=10)
    scores = [b.update(10.0 + (i % 3) * 0.5) for i in range(50)]
    assert scores[:10] == [None] * 10
    assert all(s < 3 for s in scores[10:])
    assert b.update(40.0) > 10


@given(st.lists(st.floats(min_value=0, max_value=1e9), min_size=2, max_size=50))
def test_counter_rate_is_never_negative(values):
    pts = [(float(i), v) for i, v in enumerate(values)]
    r = counter_rate(pts)
    assert r is not None and r >= 0


def test_covers_needs_data_from_the_first_half_of_the_window():
    from autobot_monitor.alerts.functions import covers
    assert not covers([], 1000, 300)
    assert not covers([(1160, 5.0), (1300, 5.0)], 1000, 300)  # 140 s of a 300 s window
    assert covers([(1150, 5.0), (1300, 5.0)], 1000, 300)
    assert not covers([(1010, None), (1290, 1.0)], 1000, 300)  # no value is no coverage
