"""The metric model: families keep their declared label names and refuse samples that do not
carry exactly those; histograms are one family with Prometheus-spelled ``le`` bounds."""

import math

import pytest

from autobot_monitor.model import MetricFamily, MetricSpec, find_samples, format_le

SPEC = MetricSpec("x_seconds", "gauge", "X.", "seconds", ("host", "mode"))


def test_family_from_spec_carries_its_label_names():
    fam = SPEC.family()
    assert fam.label_names == ("host", "mode")
    fam.add(1.5, {"mode": "user", "host": "a"})
    assert fam.samples[0].labels == (("host", "a"), ("mode", "user"))


@pytest.mark.parametrize("labels,words", [
    ({"host": "a"}, ["x_seconds", "missing", "mode"]),
    ({"host": "a", "mode": "u", "cpu": "0"}, ["x_seconds", "undeclared", "cpu"]),
    ({"host": "a", "cpu": "0"}, ["x_seconds", "undeclared", "cpu", "missing", "mode"]),
    (None, ["x_seconds", "missing", "host", "mode"]),
])
def test_add_refuses_labels_that_differ_from_the_declared_ones(labels, words):
    fam = SPEC.family()
    with pytest.raises(ValueError) as e:
        fam.add(1, labels)
    for w in words:
        assert w in str(e.value)
    assert fam.samples == []


def test_undeclared_family_accepts_any_labels():
    fam = MetricFamily("y", "gauge", "Y.")
    fam.add(1, {"anything": "goes"})
    assert len(fam.samples) == 1


def test_histogram_is_one_family_with_bucket_sum_count_samples():
    spec = MetricSpec("req_duration_seconds", "histogram", "Requests.", "seconds", ("path",))
    fam = spec.family()
    fam.add_histogram([(0.1, 2), (1, 5)], sum_value=2.5, count=6, labels={"path": "/a"})
    names = [s.name for s in fam.samples]
    assert names == ["req_duration_seconds_bucket"] * 3 + ["req_duration_seconds_sum",
                                                            "req_duration_seconds_count"]
    assert [s.label_dict["le"] for s in fam.samples[:3]] == ["0.1", "1.0", "+Inf"]
    assert [s.value for s in fam.samples] == [2, 5, 6, 2.5, 6]
    assert find_samples([fam], "req_duration_seconds_count", path="/a")[0].value == 6
    with pytest.raises(ValueError, match="missing"):
        fam.add_histogram([(1, 1)], 1, 1)
    with pytest.raises(ValueError, match="add_histogram"):
        fam.add(1, {"path": "/a"})
    with pytest.raises(ValueError, match="ascend"):
        fam.add_histogram([(1, 1), (0.5, 1)], 1, 1, {"path": "/a"})


@pytest.mark.parametrize("raw,spelled", [
    ("1", "1.0"), ("1.0", "1.0"), (1, "1.0"), ("0.005", "0.005"), ("1e6", "1e+06"),
    ("1000000", "1e+06"), ("+Inf", "+Inf"), (math.inf, "+Inf"), ("2.50", "2.5"),
])
def test_le_spelled_as_prometheus_spells_it(raw, spelled):
    assert format_le(raw) == spelled


@pytest.mark.parametrize("name", ["x_bucket", "x_count", "x_sum", "x_info"])
def test_histogram_names_must_not_end_in_a_sample_suffix(name):
    with pytest.raises(ValueError):
        MetricSpec(name, "histogram", "h")
