"""Recorder behaviour read back through prometheus_client's own exposition and parser: timed
operations (sync/async, context manager/decorator), outcomes, in-flight gauge, cardinality cap,
name validation, PerformanceMetricsRecorder."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from autobot_monitor.errors import MetricNameError
from autobot_monitor.recorders import (
    DROPPED_NAME,
    OVERFLOW,
    PerformanceMetricsRecorder,
    Recorder,
    recorder_metric_names,
)
from support import wait_until_async


def samples(rec) -> dict[tuple[str, tuple], float]:
    """Every exposed sample as {(name, sorted labels): value}, parsed from the real text."""
    text = generate_latest(rec.registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def val(rec, name, **labels) -> float | None:
    return samples(rec).get((name, tuple(sorted(labels.items()))))


def count(rec, op):
    return val(rec, "autobot_operation_duration_seconds_count", operation=op)


def test_sync_context_manager_records_duration_outcome_and_in_flight():
    rec = Recorder()
    with rec.time("db") as t:
        assert val(rec, "autobot_operations_in_progress", operation="db") == 1
    assert t.seconds is not None and t.seconds >= 0
    assert count(rec, "db") == 1
    assert val(rec, "autobot_operations_total", operation="db", status="ok") == 1
    assert val(rec, "autobot_operations_in_progress", operation="db") == 0
    assert val(rec, "autobot_operation_duration_seconds_sum", operation="db") == pytest.approx(t.seconds)


def test_error_status_default_custom_and_callable_and_in_flight_back_to_zero():
    rec = Recorder()
    with pytest.raises(KeyError), rec.time("q"):
        raise KeyError("x")
    with pytest.raises(TimeoutError), rec.time("q", status_on_error="timeout"):
        raise TimeoutError
    with pytest.raises(ValueError), rec.time("q", status_on_error=lambda e: type(e).__name__):
        raise ValueError
    with rec.time("q") as t:
        t.status = "not_found"
    assert val(rec, "autobot_operations_total", operation="q", status="error") == 1
    assert val(rec, "autobot_operations_total", operation="q", status="timeout") == 1
    assert val(rec, "autobot_operations_total", operation="q", status="ValueError") == 1
    assert val(rec, "autobot_operations_total", operation="q", status="not_found") == 1
    assert val(rec, "autobot_operations_total", operation="q", status="ok") is None
    assert count(rec, "q") == 4  # failed runs are timed too
    assert val(rec, "autobot_operations_in_progress", operation="q") == 0


def test_timer_is_single_use():
    rec = Recorder()
    t = rec.time("x")
    with t:
        pass
    with pytest.raises(RuntimeError):
        t.__enter__()


async def test_async_context_manager_and_decorators():
    rec = Recorder()
    gate = asyncio.Event()

    @rec.timed("fetch")
    async def fetch(n):
        await gate.wait()
        return n * 2

    @rec.timed()
    def compute(n):
        if n < 0:
            raise ArithmeticError
        return n + 1

    tasks = [asyncio.create_task(fetch(i)) for i in range(3)]
    await wait_until_async(lambda: val(rec, "autobot_operations_in_progress", operation="fetch") == 3,
                           what="three fetches in progress")
    gate.set()
    assert await asyncio.gather(*tasks) == [0, 2, 4]
    assert val(rec, "autobot_operations_in_progress", operation="fetch") == 0
    assert count(rec, "fetch") == 3
    async with rec.time("direct"):
        await asyncio.sleep(0)
    assert count(rec, "direct") == 1
    assert compute(1) == 2 and compute.__name__ == "compute"
    with pytest.raises(ArithmeticError):
        compute(-1)
    op = compute.__qualname__
    assert val(rec, "autobot_operations_total", operation=op, status="ok") == 1
    assert val(rec, "autobot_operations_total", operation=op, status="error") == 1


async def test_cancelled_operation_counts_as_cancelled():
    rec = Recorder()

    @rec.timed("slow")
    async def slow():
        await asyncio.sleep(30)

    task = asyncio.create_task(slow())
    await wait_until_async(lambda: val(rec, "autobot_operations_in_progress", operation="slow") == 1,
                           what="the operation in progress")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert val(rec, "autobot_operations_total", operation="slow", status="cancelled") == 1
    assert val(rec, "autobot_operations_in_progress", operation="slow") == 0


def test_histogram_buckets_place_the_observation():
    rec = Recorder(buckets=(0.1, 1.0))
    with rec.time("x"):
        pass
    assert val(rec, "autobot_operation_duration_seconds_bucket", operation="x", le="0.1") == 1
    assert val(rec, "autobot_operation_duration_seconds_bucket", operation="x", le="+Inf") == 1


def test_cardinality_cap_holds_under_a_flood_of_10k_label_values():
    rec = Recorder(max_label_sets=100)
    for i in range(10_000):
        with rec.time(f"user-{i}"):
            pass
    s = samples(rec)
    ops = {dict(k[1])["operation"] for k in s if k[0] == "autobot_operation_duration_seconds_count"}
    assert len(ops) == 101 and OVERFLOW in ops
    assert count(rec, OVERFLOW) == 9_900
    total = sum(v for k, v in s.items() if k[0] == "autobot_operations_total")
    assert total == 10_000  # folding keeps totals right
    for m in ("autobot_operation_duration_seconds", "autobot_operations_total",
              "autobot_operations_in_progress"):
        assert val(rec, DROPPED_NAME, metric=m) == 9_900
    assert val(rec, "autobot_operations_in_progress", operation=OVERFLOW) == 0
    # admitted ones keep working
    with rec.time("user-5"):
        pass
    assert count(rec, "user-5") == 2


def test_drop_mode_discards_and_counts_from_many_threads():
    rec = Recorder(max_label_sets=10, overflow="drop")
    c = rec.counter("cache_hits_total", "Cache hits.", ["key"])

    def flood(base):
        for i in range(1000):
            c.labels(key=f"{base}-{i}").inc()

    threads = [threading.Thread(target=flood, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = samples(rec)
    keys = [k for k in s if k[0] == "autobot_cache_hits_total"]
    assert len(keys) == 10 and c.label_sets == 10
    assert sum(s[k] for k in keys) == 10
    assert val(rec, DROPPED_NAME, metric="autobot_cache_hits_total") == 3990


@pytest.mark.parametrize("kind,name,labels,unit", [
    ("counter", "hits", (), ""),                 # counter without _total
    ("gauge", "queue_total", (), ""),            # gauge with _total
    ("gauge", "bad-name", (), ""),
    ("histogram", "latency", (), "seconds"),     # unit suffix missing
    ("histogram", "latency_seconds_bucket", (), ""),
    ("histogram", "latency_seconds", ("le",), "seconds"),
    ("gauge", "depth", ("__x",), ""),
    ("gauge", "depth", ("a", "a"), ""),
])
def test_bad_names_are_refused(kind, name, labels, unit):
    rec = Recorder()
    with pytest.raises(MetricNameError):
        getattr(rec, kind)(name, "help", labels, unit)


def test_bad_namespace_duplicate_and_conflicting_declarations():
    with pytest.raises(MetricNameError):
        Recorder(namespace="9lives")
    reg = CollectorRegistry()
    rec = Recorder(reg)
    with pytest.raises(MetricNameError, match="Duplicated"):
        Recorder(reg)
    other = Recorder(reg, namespace="myapp")  # another namespace shares the registry fine
    assert other.full_name("x") == "myapp_x"
    g = rec.gauge("depth", "Depth.", ["q"])
    assert rec.gauge("depth", "Depth.", ["q"]) is g
    with pytest.raises(MetricNameError, match="already declared"):
        rec.gauge("depth", "Depth.", ["other"])
    with pytest.raises(MetricNameError, match="already declared"):
        rec.histogram("depth", "Depth.", ["q"])


def test_label_arity_errors():
    rec = Recorder()
    with pytest.raises(ValueError):
        rec.outcomes.labels("only-one")
    with pytest.raises(ValueError):
        rec.outcomes.labels(operation="x")
    with pytest.raises(ValueError):
        rec.counter("plain_total", "Plain.").labels("x")


def test_declare_creates_zero_series():
    rec = Recorder()
    rec.declare("search")
    assert count(rec, "search") == 0
    assert val(rec, "autobot_operations_total", operation="search", status="error") == 0


def test_performance_recorder_families():
    rec = PerformanceMetricsRecorder()
    rec.record_inference("npu", "llm", 0.2)
    rec.record_inference("gpu", "vision")
    with rec.time_inference("gpu", "vision"):
        pass
    rec.record_multimodal("image", 0.3)
    with rec.time_multimodal("audio"):
        pass
    rec.set_performance_score("api", 87.5)
    rec.set_health_score("api", 100)
    rec.record_alert("high", "latency")
    assert val(rec, "autobot_npu_inference_total", model_type="llm") == 1
    assert val(rec, "autobot_gpu_inference_total", model_type="vision") == 2
    assert val(rec, "autobot_inference_duration_seconds_count", device="gpu", model_type="vision") == 1
    assert val(rec, "autobot_multimodal_processing_seconds_bucket", modality="image", le="0.5") == 1
    assert val(rec, "autobot_multimodal_processing_seconds_bucket", modality="image", le="0.25") == 0
    assert val(rec, "autobot_multimodal_processing_seconds_count", modality="audio") == 1
    assert val(rec, "autobot_performance_score", component="api") == 87.5
    assert val(rec, "autobot_health_score", component="api") == 100
    assert val(rec, "autobot_performance_alerts_total", severity="high", category="latency") == 1
    for bad in (lambda: rec.record_inference("tpu", "x"), lambda: rec.set_health_score("a", 101),
                lambda: rec.record_multimodal("x", -1), lambda: rec.record_alert("urgent", "x"),
                lambda: rec.record_inference("gpu", "x", float("nan"))):
        with pytest.raises(ValueError):
            bad()


def test_recorder_metric_names_cover_the_spec_names():
    names = recorder_metric_names()
    for n in ("autobot_multimodal_processing_seconds_bucket", "autobot_npu_inference_total",
              "autobot_gpu_inference_total", "autobot_performance_alerts_total", DROPPED_NAME):
        assert n in names
