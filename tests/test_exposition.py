"""Exposition stays valid for hostile label values and non-finite gauges (compared with
prometheus_client's own output), and parse(render(x)) round-trips."""

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from autobot_monitor.errors import MetricNameError
from autobot_monitor.exposition import parse, render
from autobot_monitor.model import MetricFamily, MetricSpec

HOSTILE = ['quote"d', "back\\slash", "new\nline", "all\"\\\n", "ünïcödé", ""]


def test_matches_prometheus_client_for_hostile_labels_and_nan_inf():
    reg = CollectorRegistry()
    g = Gauge("odd_values", "Odd values.", ["v"], registry=reg)
    c = Counter("odd_events", "Odd events.", ["v"], registry=reg)
    fam_g = MetricFamily("odd_values", "gauge", "Odd values.")
    fam_c = MetricFamily("odd_events_total", "counter", "Odd events.")
    values = [1.5, math.nan, math.inf, -math.inf, 0.0, -2.0]
    for label, value in zip(HOSTILE, values, strict=True):
        g.labels(v=label).set(value)
        fam_g.add(value, {"v": label})
        c.labels(v=label).inc(3)
        fam_c.add(3, {"v": label})
    ours = render([fam_g, fam_c]).decode()
    theirs = "\n".join(line for line in generate_latest(reg).decode().splitlines()
                       if "_created" not in line) + "\n"
    assert ours == theirs


def test_round_trip():
    fam = MetricFamily("x_total", "counter", "X.")
    for v in HOSTILE:
        fam.add(2, {"v": v})
    g = MetricFamily("y", "gauge", "Y.")
    g.add(math.inf)
    back = {f.name: f for f in parse(render([fam, g]).decode())}
    assert [s.label_dict["v"] for s in back["x_total"].samples] == HOSTILE
    assert back["x_total"].type == "counter"
    assert back["y"].samples[0].value == math.inf


def test_families_with_one_name_are_merged_into_one_block():
    a = MetricFamily("g", "gauge", "G.")
    a.add(1, {"host": "a"})
    b = MetricFamily("g", "gauge", "G.")
    b.add(2, {"host": "b"})
    text = render([a, b]).decode()
    assert text.count("# TYPE g gauge") == 1


@pytest.mark.parametrize("name,type_,unit", [
    ("bad-name", "gauge", ""), ("x", "counter", ""), ("x_total", "gauge", ""),
    ("x_seconds", "gauge", "bytes"), ("x", "info", ""),
])
def test_bad_names_refused_at_declaration(name, type_, unit):
    with pytest.raises(MetricNameError):
        MetricSpec(name, type_, "h", unit)


def test_reserved_label_names_refused():
    with pytest.raises(MetricNameError):
        MetricSpec("x", "gauge", "h", labels=("__name__",))
    with pytest.raises(MetricNameError):
        MetricFamily("x", "gauge", "h").add(1, {"bad-label": "v"})
