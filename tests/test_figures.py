"""The declared table of figures against the metric catalogue: a renamed metric, a filter on a
label the metric does not carry or a unit that disagrees fails here, not as "not measured" on
the dashboard."""

from __future__ import annotations

import dataclasses

import pytest

from autobot_monitor import catalog, figures
from autobot_monitor.figures import Figure, Group


def _specs() -> dict:
    return {s.name: s for _, specs in catalog.all_specs() for s in specs}


def problems(rows: list[tuple[Group | None, Figure]]) -> list[str]:
    """What is wrong with the figures ``rows`` against the catalogue, one line each."""
    specs = _specs()
    out = []
    for group, f in rows:
        for m in f.metrics:
            if not catalog.is_known_metric(m):
                out.append(f"{f.key}: {m} is not a known metric")
                continue
            spec = specs.get(m)
            if spec is None:
                continue  # a collector's dynamic name: no declared labels to check against
            used = [lab for lab, _, _ in f.match] + [x for x in (f.count_label,) if x]
            if group is not None:
                used += [group.by] + (list(group.labels) if f is group.anchor else [])
            out += [f"{f.key}: {m} has no label {lab!r}" for lab in used if lab not in spec.labels]
            if f.agg != "count" and spec.unit not in ("", f.unit):
                out.append(f"{f.key}: {m} is in {spec.unit}, the figure in {f.unit!r}")
    return out


def test_every_source_metric_is_known_with_the_labels_it_filters_on():
    assert problems(figures.all_figures()) == []


@pytest.mark.parametrize("change", [
    {"metrics": ("autobot_cpu_busy_ratio",)},          # renamed metric
    {"match": (("core", "=", "all"),)},                # label the metric does not declare
    {"unit": "bytes"},                                 # unit that disagrees with the spec
])
def test_a_renamed_metric_or_wrong_label_fails_the_catalogue_check(change):
    cpu = figures.figure("cpu_percent")
    assert problems([(None, dataclasses.replace(cpu, **change))])


def test_a_group_item_label_missing_from_the_metric_fails():
    g = next(r for r in figures.HOST_TABLE if isinstance(r, Group) and r.key == "gpus")
    bad = dataclasses.replace(g, by="card")
    assert problems([(bad, f) for f in (bad.anchor, *bad.figures)])


def test_bad_declarations_fail_at_import_time():
    with pytest.raises(ValueError):
        Figure("x", ("bad name",))
    with pytest.raises(ValueError):
        Figure("x", ("node_cpu_seconds_total",), agg="count")  # count of which label?


def test_keys_are_unique_and_json_lists_every_figure():
    doc = figures.to_json()["figures"]
    keys = [r["key"] for r in doc]
    assert len(keys) == len(set(keys))
    assert {"cpu_percent", "memory.used_percent", "gpus.utilization_percent",
            "filesystems.size_bytes", "response_time_seconds"} <= set(keys)
    net = next(r for r in doc if r["key"] == "network.receive_bytes_per_second")
    assert net["match"] == ["device!=lo"] and net["agg"] == "sum" and net["unit"] == "bytes_per_second"
    gpu = next(r for r in doc if r["key"] == "gpus.utilization_percent")
    assert (gpu["group"], gpu["by"], gpu["report"]) == ("gpus", "gpu", "gpu_utilization_percent")


def test_combine_ignores_non_finite_values_and_says_none_for_nothing():
    assert figures.combine("sum", [1.0, float("nan"), 2.0]) == 3.0
    assert figures.combine("mean", [1.0, 3.0]) == 2.0
    assert figures.combine("max", [float("nan")]) is None
    assert figures.combine("max", []) is None
    assert figures.count_values("cpu", [{"cpu": "0"}, {"cpu": "0"}, {"cpu": "1"}, {}]) == 2
    assert figures.count_values("cpu", [{}]) is None


def test_reports_trend_the_declared_figures_under_their_report_keys():
    from autobot_monitor.report.resources import TRENDS

    assert [(k, m, match, how) for k, m, match, how, _ in TRENDS] == [
        ("cpu_percent", "autobot_cpu_busy_percent", ["cpu=all"], "max"),
        ("memory_percent", "autobot_memory_used_percent", [], "max"),
        ("disk_used_percent", "autobot_filesystem_used_percent", [], "max"),
        ("network_receive_bytes_per_second", "autobot_network_receive_bytes_per_second",
         ["device!=lo"], "sum"),
        ("network_transmit_bytes_per_second", "autobot_network_transmit_bytes_per_second",
         ["device!=lo"], "sum"),
        ("gpu_utilization_percent", "autobot_gpu_utilization_percent", [], "mean")]


def test_selects_applies_the_filters_as_prometheus_matchers():
    net = figures.figure("network.receive_bytes_per_second")
    assert net.selects({"device": "eth0"}) and net.selects({})  # an absent label reads as ""
    assert not net.selects({"device": "lo"})
    cpu = figures.figure("cpu_percent")
    assert cpu.selects({"cpu": "all"}) and not cpu.selects({}) and not cpu.selects({"cpu": "0"})
    assert [str(m) for m in cpu.selector] == cpu.matchers == ["cpu=all"]


def test_api_figures_serves_the_table_and_the_severity_order():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from autobot_monitor.severity import Severity
    from autobot_monitor.web.status_routes import build_router

    async def no_reload() -> None:
        return None

    app = FastAPI()
    app.include_router(build_router(lambda: None, lambda: None, no_reload, lambda: None))
    doc = TestClient(app).get("/api/figures").json()
    assert doc["figures"] == figures.to_json()["figures"]
    assert doc["severities"] == [s.value for s in sorted(Severity, reverse=True)]
