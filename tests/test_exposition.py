"""Exposition stays valid for hostile label values and non-finite gauges (compared with
prometheus_client's own output), and parse(render(x)) round-trips."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from autobot_monitor.errors import MetricNameError
from autobot_monitor.exposition import _metric, parse, render
from autobot_monitor.model import MetricFamily, MetricSpec, Sample

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


class _PrometheusClientWriter:
    """The previous renderer: our families through prometheus_client's Metric and writer."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        merged = {}
        for fam in self.families:
            if fam.name in merged:
                merged[fam.name].samples.extend(fam.samples)
            else:
                merged[fam.name] = MetricFamily(fam.name, fam.type, fam.help, fam.unit,
                                                list(fam.samples))
        for fam in merged.values():
            m = _metric(fam)
            for smp in fam.samples:
                m.add_sample(smp.name, dict(smp.labels), smp.value)
            yield m


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ['quote"d', "back\\slash", "new\nline", 'all"\\\n', "ünïcödé", "", "\\n", '\\"'])
_LABEL_NAMES = st.sampled_from(["a", "b", "le", "quantile", "_x", "Z9", "instance"])
_VALUES = (st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([0.0, -0.0, 1.0, 1e6, 1234567.0, 1e-7, 2**53, 1e21, -1e21, 0.1])
           | st.integers(-(2**63), 2**64))
_SUFFIXES = st.sampled_from(["", "", "", "_bucket", "_sum", "_count", "_created", "_gsum",
                             "_total", "_created_total"])


@st.composite
def _families(draw):
    out = []
    for _ in range(draw(st.integers(0, 6))):
        base = draw(st.sampled_from(["a", "node_x", "b_seconds", "c_info", "x_created"]))
        type_ = draw(st.sampled_from(["gauge", "counter", "info", "histogram", "untyped"]))
        name = base + "_total" if type_ == "counter" and draw(st.booleans()) else base
        fam = MetricFamily(name, type_, draw(_TEXT))  # type: ignore[arg-type]
        for _ in range(draw(st.integers(0, 5))):
            pairs = draw(st.lists(st.tuples(_LABEL_NAMES, _TEXT), max_size=4))
            sample_name = (name[: -len("_total")] if name.endswith("_total") and draw(st.booleans())
                           else name) + draw(_SUFFIXES)
            fam.samples.append(Sample(sample_name, tuple(pairs), draw(_VALUES)))
        out.append(fam)
    return out


@settings(max_examples=400, deadline=None)
@given(_families())
def test_same_bytes_as_prometheus_client_writer(families):
    """Our writer against prometheus_client's on merged blocks, every type, OpenMetrics-only
    sample names, unsorted and repeated label names, hostile label and help text, NaN, ±Inf,
    big, tiny and integer values."""
    try:
        theirs = generate_latest(_PrometheusClientWriter(families))
    except (ValueError, UnicodeEncodeError) as e:
        with pytest.raises(type(e)):
            render(families)
        return
    assert render(families) == theirs
    assert render(families) == theirs  # again, from the caches


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


HIST_TEXT = """# HELP req_seconds Requests.
# TYPE req_seconds histogram
req_seconds_bucket{path="/a",le="0.5"} 1
req_seconds_bucket{path="/a",le="1"} 3
req_seconds_bucket{path="/a",le="1e6"} 3
req_seconds_bucket{path="/a",le="+Inf"} 4
req_seconds_sum{path="/a"} 7.5
req_seconds_count{path="/a"} 4
"""


def test_histogram_parses_into_one_family_with_prometheus_spelled_le():
    (fam,) = parse(HIST_TEXT)
    assert (fam.name, fam.type, fam.unit, fam.help) == ("req_seconds", "histogram", "seconds",
                                                        "Requests.")
    buckets = [s for s in fam.samples if s.name == "req_seconds_bucket"]
    assert [s.label_dict["le"] for s in buckets] == ["0.5", "1.0", "1e+06", "+Inf"]
    assert {s.name for s in fam.samples} == {"req_seconds_bucket", "req_seconds_sum",
                                             "req_seconds_count"}


def test_le_1_and_le_1_0_are_one_bucket():
    a = parse(HIST_TEXT)[0]
    b = parse(HIST_TEXT.replace('le="1"', 'le="1.0"'))[0]
    assert a.samples == b.samples


def test_non_numeric_le_is_a_parse_error():
    with pytest.raises(ValueError, match="le"):
        parse(HIST_TEXT.replace('le="0.5"', 'le="half"'))


def test_histogram_renders_as_histogram_and_round_trips():
    spec = MetricSpec("op_duration_seconds", "histogram", "Ops.", "seconds", ("op",))
    fam = spec.family()
    fam.add_histogram([(0.1, 1), (1, 2)], 0.7, 3, {"op": "x"})
    text = render([fam]).decode()
    assert "# TYPE op_duration_seconds histogram" in text
    assert 'op_duration_seconds_bucket{le="1.0",op="x"} 2.0' in text
    (back,) = parse(text)
    assert (back.type, back.unit, back.samples) == ("histogram", "seconds", fam.samples)


def test_info_travels_as_a_gauge_and_comes_back_as_info():
    fam = MetricSpec("agent_build_info", "info", "Build.", "", ("version",)).family()
    fam.add(1, {"version": "1.2"})
    text = render([fam]).decode()
    assert "# TYPE agent_build_info gauge" in text  # format 0.0.4 has no info type
    (back,) = parse(text)
    assert (back.type, back.samples) == ("info", fam.samples)
    (not_info,) = parse("# TYPE odd_info gauge\nodd_info 2\n")
    assert not_info.type == "gauge"


def test_units_come_back_from_the_name():
    fams = [MetricFamily("a_bytes", "gauge", "A."), MetricFamily("b_seconds_total", "counter", "B."),
            MetricFamily("c_percent", "gauge", "C."), MetricFamily("d", "gauge", "D.")]
    for f in fams:
        f.add(1)
    assert [(f.name, f.unit) for f in parse(render(fams).decode())] == [
        ("a_bytes", "bytes"), ("b_seconds_total", "seconds"), ("c_percent", "percent"), ("d", "")]


def test_every_declared_unit_is_the_one_its_name_ends_with():
    """The hub infers a scraped family's unit from its name (format 0.0.4 carries none); that
    gives the declared unit back only if every spec's unit is its name's suffix."""
    from autobot_monitor.catalog import all_specs
    from autobot_monitor.model import unit_of

    wrong = [(s.name, s.unit, unit_of(s.name)) for _, specs in all_specs() for s in specs
             if s.type != "info" and s.unit != unit_of(s.name)]
    assert wrong == []


async def test_same_bytes_as_prometheus_client_writer_on_this_machines_collection():
    from autobot_monitor.collectors import build
    from autobot_monitor.collectors.base import CollectorContext
    from autobot_monitor.collectors.runner import CollectorRunner

    runner = CollectorRunner(build(CollectorContext()))
    try:
        for _ in range(2):  # the second cycle has the rates too
            families, _ = await runner.run()
            assert render(families) == generate_latest(_PrometheusClientWriter(families))
    finally:
        runner.close()
