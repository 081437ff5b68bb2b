"""application_view over a real TieredStore (the embedded store) filled with what the hub stores for a scraped
histogram: bucket deltas over the window, a counter reset, error ratio, static labels, summary."""

from __future__ import annotations

import pytest

from autobot_monitor.exposition import parse, render
from autobot_monitor.model import make_labels
from autobot_monitor.store import Series, TieredStore
from autobot_monitor.web.applications import application_view

T0 = 1_700_000_000.0
H = "autobot_operation_duration_seconds"
LES = ("0.05", "0.1", "0.25", "0.5", "+Inf")


def _write(store, t, op, cum: dict[str, float], ok: float, err: float, instance="a:1",
           job="shop"):
    base = {"job": job, "instance": instance, "team": "web", "operation": op}
    rows = [Series(H + "_bucket", dict(make_labels({**base, "le": le})), [(t, cum.get(le, 0.0))], "counter")
            for le in LES]
    rows.append(Series(H + "_count", dict(make_labels(base)), [(t, cum.get("+Inf", 0.0))], "counter"))
    for status, v in (("ok", ok), ("error", err)):
        rows.append(Series("autobot_operations_total", dict(make_labels({**base, "status": status})),
                           [(t, v)], "counter"))
    rows.append(Series("up", dict(make_labels({"job": job, "instance": instance, "host": ""})),
                       [(t, 1.0)], "gauge"))
    store.write(rows)


@pytest.fixture
def store(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    yield s
    s.close()


def _cum(counts: dict[str, float]) -> dict[str, float]:
    out, run = {}, 0.0
    for le in LES:
        run += counts.get(le, 0.0)
        out[le] = run
    return out


def test_quantiles_rate_and_error_ratio_from_bucket_deltas(store):
    # before the window: 100 fast ones that must not count
    _write(store, T0 - 100, "report", _cum({"0.05": 100}), 100, 0)
    _write(store, T0, "report", _cum({"0.05": 100}), 100, 0)
    # within the window: 20 in (0.25, 0.5], 2 of them failed
    _write(store, T0 + 10, "report", _cum({"0.05": 100, "0.5": 10}), 109, 1)
    _write(store, T0 + 20, "report", _cum({"0.05": 100, "0.5": 20}), 118, 2)
    doc = application_view(store, {"shop": ("team",)}, T0 + 20, 30, 1.0)
    (app,) = doc["applications"]
    assert app["instances"] == [{"instance": "a:1", "up": True}]
    (h,) = app["histograms"]
    assert h["labels"] == {"operation": "report"}  # job, instance, le, static team dropped
    assert h["observations"] == 20
    assert h["rate_per_second"] == pytest.approx(1.0)
    assert h["error_ratio"] == pytest.approx(0.1)
    assert h["quantiles"]["p50"] == pytest.approx(0.375)
    assert h["quantiles"]["p90"] == pytest.approx(0.475)
    assert h["quantiles"]["p99"] == pytest.approx(0.4975)
    assert app["summary"]["metric"] == H and app["summary"]["observations"] == 20


def test_counter_reset_inside_the_window_and_instances_summed(store):
    _write(store, T0, "q", _cum({"0.1": 50}), 50, 0)
    _write(store, T0 + 5, "q", _cum({"0.1": 60}), 60, 0)
    _write(store, T0 + 10, "q", _cum({"0.1": 4}), 3, 1)          # restarted: 4 new
    _write(store, T0, "q", _cum({}), 0, 0, instance="b:1")
    _write(store, T0 + 10, "q", _cum({"0.25": 6}), 6, 0, instance="b:1")
    doc = application_view(store, {"shop": ()}, T0 + 10, 60, 1.0)
    (h,) = doc["applications"][0]["histograms"]
    assert h["labels"] == {"operation": "q", "team": "web"}
    assert h["observations"] == 10 + 4 + 6
    assert h["error_ratio"] == pytest.approx(1 / 20)
    # 14 in (0.05, 0.1], 6 in (0.1, 0.25]: p50 rank 10 of 14 in the second bucket
    assert h["quantiles"]["p50"] == pytest.approx(0.05 + 0.05 * 10 / 14)
    s = doc["applications"][0]["summary"]
    assert s["observations"] == 20 and s["error_ratio"] == pytest.approx(0.05)


def test_nothing_measured_is_null_not_zero(store):
    _write(store, T0, "idle", _cum({}), 0, 0)
    doc = application_view(store, {"shop": (), "ghost": ()}, T0 + 5, 60, 1.0)
    shop, ghost = doc["applications"]
    assert shop["histograms"] == []  # one sample: no increase can be computed
    assert shop["summary"] is None
    assert ghost == {"job": "ghost", "instances": [], "summary": None, "histograms": []}
    _write(store, T0 + 5, "idle", _cum({}), 0, 0)
    (h,) = application_view(store, {"shop": ()}, T0 + 5, 60, 1.0)["applications"][0]["histograms"]
    assert h["observations"] == 0 and h["rate_per_second"] == 0
    assert h["error_ratio"] is None and h["quantiles"] == {"p50": None, "p90": None, "p99": None}


def test_parsed_histogram_re_renders_as_a_histogram():
    text = ("# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
            'x_seconds_bucket{le="0.1"} 1\nx_seconds_bucket{le="+Inf"} 2\n'
            "x_seconds_sum 0.5\nx_seconds_count 2\n")
    fams = parse(text)
    assert {f.name: f.type for f in fams} == {"x_seconds": "histogram"}
    out = render(fams).decode()
    assert "# TYPE x_seconds histogram" in out and 'x_seconds_bucket{le="+Inf"} 2.0' in out
    assert parse(out)[0].samples == fams[0].samples
