"""Percentile method (type 7), score formula and grades."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot_monitor.benchmark import scoring
from autobot_monitor.benchmark.stats import Reservoir, histogram, percentile, percentile_summary


def test_no_samples_is_no_data():
    assert percentile([], 50) is None
    s = percentile_summary([])
    assert s["count"] == 0 and s["p50"] is None and s["max"] is None and s["mean"] is None


def test_one_sample_is_itself_at_every_quantile():
    for q in (0, 1, 50, 95, 99, 100):
        assert percentile([0.25], q) == 0.25


def test_two_samples_interpolate_linearly():
    assert percentile([1.0, 3.0], 50) == 2.0
    assert percentile([3.0, 1.0], 90) == pytest.approx(2.8)
    assert percentile([1.0, 3.0], 0) == 1.0
    assert percentile([1.0, 3.0], 100) == 3.0


def test_three_samples():
    xs = [10.0, 30.0, 20.0]
    assert percentile(xs, 50) == 20.0
    assert percentile(xs, 90) == pytest.approx(28.0)   # h = 1.8 -> 20 + 0.8 * 10
    assert percentile(xs, 25) == pytest.approx(15.0)


def test_twenty_samples_match_numpy_linear():
    xs = [float(i) for i in range(1, 21)]
    assert percentile(xs, 50) == pytest.approx(10.5)
    assert percentile(xs, 90) == pytest.approx(18.1)
    assert percentile(xs, 95) == pytest.approx(19.05)
    assert percentile(xs, 99) == pytest.approx(19.81)
    np = pytest.importorskip("numpy")
    for q in (1, 37, 50, 90, 95, 99):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q, method="linear")))


def test_out_of_range_quantile_is_refused():
    with pytest.raises(ValueError):
        percentile([1.0], 101)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_always_within_min_max(xs, q):
    v = percentile(xs, q)
    assert min(xs) <= v <= max(xs)


def test_histogram_is_cumulative():
    h = histogram([0.001, 0.02, 0.02, 3.0], (0.01, 0.1, 1.0))
    assert [b["count"] for b in h] == [1, 3, 3, 4]
    assert h[-1]["le"] == "+Inf"


def test_reservoir_is_bounded_and_counts_everything():
    r = Reservoir(cap=100, seed=1)
    for i in range(10_000):
        r.add(float(i))
    assert len(r) == 100 and r.seen == 10_000 and r.sampled


def test_score_at_baseline_and_per_doubling():
    assert scoring.figure_score(0.5, 0.5, "lower") == pytest.approx(60)
    assert scoring.figure_score(0.25, 0.5, "lower") == pytest.approx(80)
    assert scoring.figure_score(1.0, 0.5, "lower") == pytest.approx(40)
    assert scoring.figure_score(1000e6, 500e6, "higher") == pytest.approx(80)
    assert scoring.figure_score(0.0, 0.5, "lower") == 100
    assert scoring.figure_score(0.0, 500e6, "higher") == 0
    assert scoring.figure_score(None, 0.5, "lower") is None


pos = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(pos, pos, st.floats(min_value=1e-6, max_value=1e9))
def test_latency_score_is_bounded_and_non_increasing(a, b, base):
    lo, hi = sorted((a, b))
    s_lo, s_hi = scoring.figure_score(lo, base, "lower"), scoring.figure_score(hi, base, "lower")
    assert 0 <= s_hi <= s_lo <= 100


@given(pos, pos, st.floats(min_value=1e-6, max_value=1e12))
def test_throughput_score_is_bounded_and_non_decreasing(a, b, base):
    lo, hi = sorted((a, b))
    s_lo, s_hi = scoring.figure_score(lo, base, "higher"), scoring.figure_score(hi, base, "higher")
    assert 0 <= s_lo <= s_hi <= 100


@pytest.mark.parametrize("score,expected", [
    (100, "A+"), (90, "A+"), (89.999, "A"), (80, "A"), (79.99, "B+"), (70, "B+"), (69.9, "B"),
    (60, "B"), (59.9, "C+"), (50, "C+"), (49.9, "C"), (40, "C"), (39.99, "D"), (0, "D"),
    (None, None)])
def test_grade_boundaries(score, expected):
    assert scoring.grade(score) == expected


def test_overall_is_weighted_and_renormalised():
    full = {"api": 100.0, "database": 50.0, "network": 0.0, "system": 80.0}
    assert scoring.overall_score(full) == pytest.approx(30 + 12.5 + 0 + 20)
    part = {"api": 100.0, "database": 50.0, "network": None, "system": None}
    assert scoring.overall_score(part) == pytest.approx((30 + 12.5) / 0.55)
    assert scoring.overall_score({"api": None}) is None


def test_category_score_excludes_unmeasured_and_applies_success():
    assert scoring.category_score([None, 80.0, 60.0], 0.5) == pytest.approx(35.0)
    assert scoring.category_score([None]) is None
    assert not math.isnan(scoring.category_score([0.0]))
