"""The example application as a real process under load, a real hub process scraping it, and
/api/applications percentiles matching the delays the test injected (to bucket resolution)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile

import httpx
import pytest

from autobot_monitor.config.loader import load_config
from support import PROMTOOL, HubProcess, free_port, wait_http

pytestmark = pytest.mark.timeout(120)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "instrumented_app.py")
FAST, SLOW, IMAGE = 0.06, 0.3, 0.15  # buckets (0.05, 0.1], (0.25, 0.5], (0.1, 0.25]
N_FAST, N_SLOW, N_FAIL, N_IMAGE = 30, 20, 5, 4


class AppProcess:
    """``python examples/instrumented_app.py ARGS`` as a child process, output to a file."""

    def __init__(self, args: list[str]):
        self.log_path = tempfile.mktemp(prefix="autobot-app-", suffix=".log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, EXAMPLE, *args], stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def test_example_config_is_valid():
    cfg = load_config(os.path.join(ROOT, "examples", "app-monitoring.yaml"))
    assert [t.job for t in cfg.targets] == ["instrumented-app"]


async def _load(app_url: str) -> list[int]:
    """The injected load, at most 4 requests in flight (so the app's event loop never delays a
    wake-up past a bucket boundary)."""
    paths = (["/work/fast"] * N_FAST + ["/work/slow"] * N_SLOW + ["/work/slow?fail=1"] * N_FAIL
             + ["/process/image"] * N_IMAGE)
    sem = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as c:
        async def one(p):
            async with sem:
                return (await c.get(p)).status_code
        return await asyncio.gather(*(one(p) for p in paths))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("apps")
    app_port = free_port()
    app = AppProcess(["--port", str(app_port), "--endpoint", f"fast={FAST}",
                      "--endpoint", f"slow={SLOW}", "--modality", f"image={IMAGE}"])
    hub = HubProcess(tmp, {
        "dashboard_enabled": False, "local_host": {"enabled": False},
        "targets": [{"job": "demo", "url": f"http://127.0.0.1:{app_port}/metrics",
                     "labels": {"team": "qa"}}],
        "rules": [{"name": "DemoFailures", "metric": "autobot_operations_total",
                   "match": {"job": "demo", "status": "error"}, "fn": "rate", "window": "1m",
                   "op": ">", "threshold": 0, "severity": "high", "category": "application"}]})
    w = {"app": f"http://127.0.0.1:{app_port}", "hub": hub.url,
         "instance": f"127.0.0.1:{app_port}"}
    try:
        try:
            wait_http(w["app"] + "/healthz", 30)
            # two stored scrapes before the load: every declared series has a baseline of 0
            hub.wait_http("/api/applications?window=2m", lambda r: (
                r.json()["applications"][0]["summary"] or {}).get("observations") == 0)
            w["codes"] = asyncio.run(_load(w["app"]))
            # every operation, and every image's processing time (observed by the app after
            # its answer went out, so a scrape may fall between the two), in the stored window
            w["doc"] = hub.wait_http("/api/applications?window=2m", _all_observed, 30).json()
        except AssertionError:
            print(app.output())
            raise
        yield w
    finally:  # also when setup fails
        hub.stop()
        app.stop()


def _all_observed(r) -> bool:
    doc = r.json()
    if doc["applications"][0]["summary"]["observations"] != N_FAST + N_SLOW + N_FAIL + N_IMAGE:
        return False
    try:
        img = _hist(doc, "autobot_multimodal_processing_seconds", modality="image")
    except ValueError:  # not scraped yet
        return False
    return img["observations"] == N_IMAGE


def _hist(doc, metric, **labels):
    (app,) = doc["applications"]
    (h,) = [h for h in app["histograms"] if h["metric"] == metric and h["labels"] == labels]
    return h


def test_load_was_served(world):
    assert sorted(world["codes"]) == [200] * (N_FAST + N_SLOW + N_IMAGE) + [500] * N_FAIL


def test_latency_percentiles_match_the_injected_delays(world):
    doc = world["doc"]
    (app,) = doc["applications"]
    assert app["job"] == "demo"
    assert app["instances"] == [{"instance": world["instance"], "up": True}]
    # an injected delay is a floor under every observation: each quantile lies above the lower
    # edge of the delay's bucket (a loaded machine may add time, never take it away)
    p50 = {}
    for op, lo, n in (("fast", 0.05, N_FAST), ("slow", 0.25, N_SLOW + N_FAIL)):
        h = _hist(doc, "autobot_operation_duration_seconds", operation=op)
        assert h["observations"] == n
        assert h["rate_per_second"] > 0
        q = h["quantiles"]
        assert lo < q["p50"] <= q["p90"] <= q["p99"], (op, h)
        p50[op] = q["p50"]
    assert p50["fast"] < p50["slow"]
    img = _hist(doc, "autobot_multimodal_processing_seconds", modality="image")
    assert img["observations"] == N_IMAGE
    assert 0.1 < img["quantiles"]["p50"]


def test_error_ratio_from_the_outcome_counter(world):
    doc = world["doc"]
    assert _hist(doc, "autobot_operation_duration_seconds", operation="slow")["error_ratio"] == \
        pytest.approx(N_FAIL / (N_SLOW + N_FAIL))
    assert _hist(doc, "autobot_operation_duration_seconds", operation="fast")["error_ratio"] == 0
    s = doc["applications"][0]["summary"]
    assert s["metric"] == "autobot_operation_duration_seconds"
    assert s["error_ratio"] == pytest.approx(N_FAIL / (N_FAST + N_SLOW + N_FAIL + N_IMAGE))
    # the slowest operations decide the summary's tail
    assert s["quantiles"]["p99"] > 0.25


def test_application_metrics_are_stored_and_re_exposed(world):
    hub = world["hub"]
    names = httpx.get(hub + "/api/metrics/names", timeout=10).json()["metrics"]
    for n in ("autobot_operation_duration_seconds_bucket", "autobot_npu_inference_total",
              "autobot_multimodal_processing_seconds_count", "autobot_health_score",
              "autobot_recorder_dropped_label_sets_total"):
        assert n in names
    r = httpx.get(hub + "/api/metrics/history", timeout=10, params={
        "metric": "autobot_npu_inference_total", "match": ["job=demo", "model_type=image"],
        "start": "now-2m"})
    (series,) = r.json()["series"]
    assert series["labels"]["team"] == "qa"
    assert series["points"][-1][1] == N_IMAGE
    text = httpx.get(hub + "/metrics", timeout=10).text
    assert 'autobot_operation_duration_seconds_bucket{' in text
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stdout + p.stderr


def test_histogram_is_stored_and_served_with_its_type_unit_buckets_and_le(world):
    """The recorder's histogram, scraped by the hub, is one family of type histogram in the
    store's metadata, and its buckets are read back with Prometheus-spelled ``le`` values."""
    hub, name = world["hub"], "autobot_operation_duration_seconds"
    for asked in (name, name + "_bucket"):
        meta = httpx.get(hub + "/api/metrics/metadata", params={"metric": asked},
                         timeout=10).json()["metadata"]
        assert list(meta) == [name]
        assert meta[name][0]["type"] == "histogram" and meta[name][0]["unit"] == "seconds"
    every = httpx.get(hub + "/api/metrics/metadata", timeout=10).json()["metadata"]
    assert every["autobot_npu_inference_total"][0]["type"] == "counter"
    assert every["autobot_health_score"][0]["type"] == "gauge"
    r = httpx.get(hub + "/api/metrics/history", timeout=10, params={
        "metric": name + "_bucket", "match": ["job=demo", "operation=fast"], "start": "now-2m"})
    buckets = {s["labels"]["le"]: s["points"][-1][1] for s in r.json()["series"]}
    assert "+Inf" in buckets and "0.1" in buckets and "1.0" in buckets
    assert buckets["+Inf"] == N_FAST and buckets["0.1"] == N_FAST and buckets["0.05"] == 0
    text = httpx.get(hub + "/metrics", timeout=10).text
    assert f"# TYPE {name} histogram" in text
    assert httpx.get(hub + "/api/metrics/metadata", params={"metric": "bad-name"},
                     timeout=10).status_code == 400


@pytest.mark.parametrize("params,status", [({"window": "soon"}, 400), ({"window": "0s"}, 400),
                                           ({"window": "30d"}, 400), ({"job": "nope"}, 404),
                                           ({"histogram": "bad-name"}, 400)])
def test_bad_queries(world, params, status):
    r = httpx.get(world["hub"] + "/api/applications", params=params, timeout=10)
    assert r.status_code == status and "error" in r.json()


def test_job_filter_and_explicit_histogram(world):
    r = httpx.get(world["hub"] + "/api/applications", timeout=10, params={
        "job": "demo", "histogram": "autobot_multimodal_processing_seconds", "window": "2m"})
    s = r.json()["applications"][0]["summary"]
    assert s["metric"] == "autobot_multimodal_processing_seconds"
    assert s["observations"] == N_IMAGE and s["error_ratio"] is None


def test_an_alert_rule_on_the_application_metric_fires(world):
    def firing(r):
        return [a for a in r.json()["alerts"]
                if a["rule"] == "DemoFailures" and a["state"] == "firing"]

    (alert,) = firing(wait_http(world["hub"] + "/api/alerts", 30, firing))
    assert alert["labels"]["operation"] == "slow" and alert["labels"]["job"] == "demo"
    assert alert["value"] > 0
