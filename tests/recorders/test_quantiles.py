"""histogram_quantile against PromQL's answers (worked by hand from promql/quantile.go) and its
edge cases; increase() with counter resets."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from autobot_monitor.quantiles import histogram_quantile, increase, parse_le

INF = math.inf


def test_linear_interpolation_inside_the_bucket():
    # 10 in (0, 0.1], 10 in (0.1, 0.5], 0 above
    b = [(0.1, 10), (0.5, 20), (INF, 20)]
    assert histogram_quantile(0.5, b) == pytest.approx(0.1)      # rank 10: top of bucket 1
    assert histogram_quantile(0.75, b) == pytest.approx(0.3)     # rank 15: half of (0.1, 0.5]
    assert histogram_quantile(0.25, b) == pytest.approx(0.05)    # first bucket starts at 0
    assert histogram_quantile(1.0, b) == pytest.approx(0.5)


def test_order_of_buckets_does_not_matter_and_duplicates_merge():
    b = [(INF, 20), (0.5, 20), (0.1, 10)]
    assert histogram_quantile(0.75, b) == pytest.approx(0.3)
    halves = [(0.1, 5), (0.5, 10), (INF, 10), (0.1, 5), (0.5, 10), (INF, 10)]
    assert histogram_quantile(0.75, halves) == pytest.approx(0.3)


def test_rank_in_the_inf_bucket_answers_the_highest_finite_bound():
    b = [(0.1, 1), (1.0, 2), (INF, 10)]
    assert histogram_quantile(0.99, b) == 1.0
    assert histogram_quantile(0.5, b) == 1.0


@pytest.mark.parametrize("buckets", [
    [],                                   # empty
    [(INF, 5)],                           # a single bucket (+Inf only)
    [(0.1, 5)],                           # a single finite bucket
    [(0.1, 5), (1.0, 5)],                 # no +Inf bucket
    [(0.1, 0), (1.0, 0), (INF, 0)],       # no observations
])
def test_undefined_answers_none(buckets):
    assert histogram_quantile(0.5, buckets) is None


def test_non_monotonic_counts_are_forced_monotonic():
    # bucket 0.5 scraped a moment before bucket 0.1 saw two more observations
    b = [(0.1, 12), (0.5, 10), (1.0, 20), (INF, 20)]
    # PromQL: 0.5 -> 12; rank 10 falls in the first bucket: 0.1 * 10/12
    assert histogram_quantile(0.5, b) == pytest.approx(0.1 * 10 / 12)


def test_first_bucket_with_non_positive_bound_and_negative_buckets():
    assert histogram_quantile(0.3, [(0.0, 5), (1.0, 10), (INF, 10)]) == 0.0
    assert histogram_quantile(0.75, [(-1.0, 5), (1.0, 10), (INF, 10)]) == pytest.approx(0.0)


def test_zero_quantile_skips_empty_buckets():
    assert histogram_quantile(0.0, [(0.1, 0), (0.5, 4), (INF, 4)]) == pytest.approx(0.1)
    assert histogram_quantile(0.0, [(0.1, 3), (INF, 3)]) == 0.0


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_quantile_out_of_range_is_refused(q):
    with pytest.raises(ValueError):
        histogram_quantile(q, [(0.1, 1), (INF, 1)])


def test_nan_counts_are_ignored():
    assert histogram_quantile(0.5, [(0.1, math.nan), (1.0, 4), (INF, 4)]) == pytest.approx(0.5)


def test_parse_le():
    assert parse_le("+Inf") == INF and parse_le("0.25") == 0.25 and parse_le("1e-3") == 0.001
    for bad in ("NaN", "x", ""):
        with pytest.raises(ValueError):
            parse_le(bad)


def test_quantile_of_a_real_prometheus_client_histogram_is_within_its_bucket():
    reg = CollectorRegistry()
    bounds = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0)
    h = Histogram("lat_seconds", "L.", registry=reg, buckets=bounds)
    rnd = random.Random(7)
    values = sorted(rnd.uniform(0.0, 0.8) for _ in range(2000))
    for v in values:
        h.observe(v)
    buckets = [(parse_le(s.labels["le"]), s.value) for s in reg.collect().__next__().samples
               if s.name.endswith("_bucket")]
    for q in (0.5, 0.9, 0.99):
        exact = values[int(q * len(values)) - 1]
        lo = max([b for b in (0.0, *bounds) if b < exact])
        hi = min(b for b in (*bounds, INF) if b >= exact)
        est = histogram_quantile(q, buckets)
        assert lo <= est <= hi, (q, exact, est)


def test_increase_with_resets_and_gaps():
    assert increase([(0, 5.0), (1, 7.0), (2, 10.0)]) == 5.0
    assert increase([(0, 5.0), (1, 8.0), (2, 2.0), (3, 4.0)]) == 3.0 + 2.0 + 2.0  # reset at t=2
    assert increase([(0, 1.0), (1, None), (2, 3.0)]) == 2.0
    assert increase([(0, 1.0)]) is None
    assert increase([]) is None
    assert increase([(0, 4.0), (1, 4.0)]) == 0.0
