"""The real thing: a hub process and an agent process over real sockets, a real redis-server,
a real HTTP service; exposition checked by promtool; history across a hub restart."""

from __future__ import annotations

import asyncio
import json
import math
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
import websockets

from support import (
    HUB_DEFAULTS,
    PROMTOOL,
    CliProcess,
    HttpServer,
    HubProcess,
    RedisServer,
    free_port,
    wait_http,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)


def promtool_problems(text: str) -> list[str]:
    """promtool's complaints, minus those node_exporter's own names draw (its output gets
    exactly the same lines): camelCase node_memory_*/node_netstat_*, node_entropy_*_bits; and
    the "_count" one of smartctl_exporter's smartctl_device_power_cycle_count (on a machine
    with S.M.A.R.T. disks)."""
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    return [ln for ln in lines
            if not re.match(r"^node_(memory|netstat)_\w+ metric names should be written in "
                            r"'snake_case'|^node_entropy_\w+_bits use base unit", ln)
            and not ln.startswith("smartctl_device_power_cycle_count non-histogram")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    redis = RedisServer()
    http = HttpServer()
    agent_port, dead_port, closed_port = (free_port() for _ in range(3))
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{agent_port}", "--interval", "1"])
    hub = HubProcess(tmp, {
        "local_host": {"name": "hub-host"},
        "hosts": [{"name": "agent-1", "address": f"127.0.0.1:{agent_port}", "role": "worker",
                   "priority": "high"},
                  {"name": "dead-1", "address": f"127.0.0.1:{dead_port}", "priority": "medium"}],
        "services": [{"name": "cache", "type": "redis", "address": redis.address},
                     {"name": "web-ok", "type": "http", "url": http.url("/")},
                     {"name": "web-500", "type": "http", "url": http.url("/status/500")},
                     {"name": "closed", "type": "tcp", "address": f"127.0.0.1:{closed_port}",
                      "timeout": 1}]})
    w = {"url": hub.url, "cfg": hub.cfg, "data": hub.data, "hub": hub, "agent": agent,
         "redis": redis, "agent_url": f"http://127.0.0.1:{agent_port}", "hub_port": hub.port}
    try:
        try:
            hub.wait_http("/api/system/status",
                          lambda r: r.json()["cycles"] >= 3 and r.json()["hosts"]["agent-1"]["up"])
        except AssertionError:
            print(agent.output())
            raise
        yield w
    finally:  # also when setup fails: no process outlives the module
        hub.stop()
        agent.stop()
        http.stop()
        redis.stop()


def get(w, path, **params):
    r = httpx.get(w["url"] + path, params=params, timeout=10)
    return r


def test_current_shows_real_local_and_agent_figures(world):
    cur = get(world, "/api/metrics/current").json()
    for name in ("hub-host", "agent-1"):
        h = cur["hosts"][name]
        assert h["up"] is True and h["last_seen"] == cur["timestamp"]  # seen in this very cycle
        s = h["summary"]
        assert 0.0 <= s["cpu_percent"] <= 100.0
        assert 0.0 < s["memory"]["used_percent"] < 100.0
        assert s["memory"]["total_bytes"] > 0
        assert s["filesystems"] and all(0 <= f["used_percent"] <= 100 for f in s["filesystems"])
        assert s["load1"] >= 0
        assert s["gpu_available"] in (0.0, 1.0)
    dead = cur["hosts"]["dead-1"]
    assert dead["up"] is False and dead["last_seen"] is None and dead["error"]


def test_service_checks_against_real_services(world):
    sv = get(world, "/api/metrics/current").json()["services"]
    assert sv["cache"]["up"] and sv["cache"]["details"]["connected_clients"] >= 1
    assert 0 < sv["cache"]["response_time_seconds"] <= 5.0  # within the check's default timeout
    assert sv["web-ok"]["up"] and sv["web-ok"]["status_code"] == 200
    assert not sv["web-500"]["up"] and sv["web-500"]["status_code"] == 500
    assert not sv["closed"]["up"] and sv["closed"]["response_time_seconds"] is None


def test_status_has_health_and_availability(world):
    st = get(world, "/api/system/status").json()
    assert 0 <= st["health_score"] < 100  # a dead host and two dead services
    assert st["hosts"]["hub-host"]["availability_24h_percent"] == 100.0
    assert st["services"]["web-500"]["availability_24h_percent"] == 0.0
    hub = st["hosts"]["hub-host"]  # up, down, unknown: seconds of the day were monitored, not all
    assert 0 < hub["coverage_24h_percent"] < 1 and hub["down_24h_seconds"] == 0
    assert hub["unknown_24h_seconds"] == pytest.approx(86400 - hub["up_24h_seconds"], abs=0.2)
    web = st["services"]["web-500"]
    assert web["up_24h_seconds"] == 0 and web["down_24h_seconds"] > 0
    assert st["hosts"]["dead-1"]["up"] is False


def test_alerts_report_the_threshold_checks(world):
    alerts = get(world, "/api/alerts").json()["alerts"]
    names = {(a["name"], a["labels"].get("service") or a["labels"].get("host")) for a in alerts}
    assert ("ServiceDown", "web-500") in names
    assert ("ServiceDown", "closed") in names
    assert ("HostDown", "dead-1") in names
    assert all(a["severity"] in ("critical", "high", "medium", "low") for a in alerts)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_hub_and_agent_exposition_pass_promtool(world):
    for url in (world["url"] + "/metrics", world["url"] + "/api/monitoring/metrics",
                world["agent_url"] + "/metrics"):
        r = httpx.get(url, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "node_cpu_seconds_total" in r.text
        assert promtool_problems(r.text) == [], url


def test_hub_exposition_has_up_and_self_metrics(world):
    text = get(world, "/metrics").text
    assert re.search(r'^up\{host="agent-1",instance="127\.0\.0\.1:\d+",job="autobot-agent"\} 1\.0$',
                     text, re.M)
    assert re.search(r'^up\{host="dead-1",.*\} 0\.0$', text, re.M)
    assert 'autobot_scrape_collector_success{collector="cpu",host="hub-host"} 1.0' in text
    assert 'autobot_service_up{service="web-ok",type="http"} 1.0' in text


def test_agent_snapshot_json(world):
    snap = httpx.get(world["agent_url"] + "/api/v1/snapshot", timeout=5).json()
    names = {f["name"] for f in snap["families"]}
    assert {"node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_load1"} <= names
    assert all(c["ok"] for n, c in snap["collectors"].items())


def test_websocket_pushes_metrics_updates(world):
    async def two_messages():
        async with websockets.connect(world["url"].replace("http", "ws") + "/ws") as ws:
            a = json.loads(await asyncio.wait_for(ws.recv(), 10))
            b = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return a, b
    a, b = asyncio.run(two_messages())
    for m in (a, b):
        assert m["type"] == "metrics_update" and "hub-host" in m["data"]["hosts"]
    assert b["timestamp"] > a["timestamp"]


def test_history_api_and_bad_input(world):
    r = get(world, "/api/metrics/history", metric="autobot_cpu_busy_percent", host="hub-host",
            start="now-10m", step="1s", match="cpu=all")
    assert r.status_code == 200, r.text
    series = r.json()["series"]
    assert len(series) == 1 and len(series[0]["points"]) >= 2
    assert all(0 <= v <= 100 for _, v in series[0]["points"] if v is not None)
    for params, needle in (({"metric": "bad name"}, "metric"),
                           ({"metric": "x", "step": "fast"}, "step"),
                           ({"metric": "x", "start": "yesterday"}, "start"),
                           ({"metric": "x", "start": "100", "end": "50"}, "end"),
                           ({"metric": "x", "match": "novalue"}, "match"),
                           ({"metric": "x", "start": "-1e308"}, "start"),
                           ({"metric": "x", "end": "1e308"}, "end"),
                           ({"metric": "x", "step": "99999999999999999999"}, "step"),
                           ({"metric": "x", "rate": "maybe"}, "rate")):
        r = get(world, "/api/metrics/history", **params)
        assert r.status_code == 400 and needle in r.json()["error"], (params, r.text)
    r = get(world, "/api/metrics/history")
    assert r.status_code == 400 and "metric" in r.json()["error"]
    assert get(world, "/docs").status_code == 404  # Swagger UI would load from a CDN


def test_openapi_lists_the_api(world):
    paths = get(world, "/openapi.json").json()["paths"]
    for p in ("/api/metrics/current", "/api/metrics/history", "/api/system/status", "/api/alerts",
              "/metrics", "/api/monitoring/metrics", "/healthz"):
        assert p in paths


def test_status_cli_table_and_json(world):
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "status", "--url", world["url"]],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for needle in ("hub-host", "agent-1", "dead-1", "cache", "web-500", "health score"):
        assert needle in r.stdout
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "--status", "--url",
                        world["url"], "--json"], capture_output=True, text=True, timeout=30)
    doc = json.loads(r.stdout)
    assert doc["status"]["hosts"]["agent-1"]["up"] is True


def test_no_nan_or_repr_strings_in_json(world):
    body = get(world, "/api/metrics/current", full="true").text
    json.loads(body)  # strict JSON
    assert "NaN" not in body
    # no repr() of objects (help texts may hold "<": node_exporter's "/sys/block/<block_device>")
    assert not re.search(r"<[\w.]+ object at 0x|<(class|function|module) ", body)


def test_sighup_reload_applies_good_config_and_refuses_bad(world):
    hub = world["hub"]
    original = hub.config
    added = {"name": "added", "type": "tcp", "address": world["redis"].address}
    try:
        hub.write_config({**original, "services": [*original["services"], added]})
        hub.send_signal(signal.SIGHUP)
        hub.wait_http("/api/metrics/current", lambda r: "added" in r.json()["services"], 30)
        hub.write_config({**original, "bogus_key": 1})
        hub.send_signal(signal.SIGHUP)
        wait_until(lambda: "bogus_key: unknown key" in hub.output(), 30, 0.1,
                   "the refused reload's log line")
        hub.wait_more_cycles(1, 30)
        assert hub.poll() is None
        assert "added" in get(world, "/api/metrics/current").json()["services"]
        assert "bogus_key: unknown key" in world["hub"].output()
        r = httpx.post(world["url"] + "/api/admin/reload", timeout=10)
        assert r.status_code == 400 and any("bogus_key: unknown key" in p for p in r.json()["problems"])
    finally:
        hub.write_config(original)
    r = httpx.post(world["url"] + "/api/admin/reload", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "reloaded"
    # reloads racing the cycles must never stop them (they once closed a runner mid-cycle)
    before = get(world, "/api/system/status").json()["cycles"]
    done = world["hub"].output().count("configuration reloaded")
    for i in range(1, 16):  # one at a time, each as soon as the one before has applied
        world["hub"].send_signal(signal.SIGHUP)
        wait_until(lambda i=i: world["hub"].output().count("configuration reloaded") >= done + i,
                   30, 0.02, f"reload {i}")
    wait_http(world["url"] + "/api/system/status", 30, lambda r: r.json()["cycles"] >= before + 5)


def test_logs_follow_the_spec_layout(world):
    logs = world["data"] / "logs"
    assert (logs / "monitoring_control.log").stat().st_size > 0
    lines = (logs / "performance" / "metrics.jsonl").read_text().splitlines()
    rec = json.loads(lines[-1])
    assert "hub-host" in rec["hosts"]


def test_history_survives_hub_restart_and_stop_command(world):
    start = str(int(time.time()) - 600)
    before = [p for p in get(world, "/api/metrics/history", metric="node_load1", host="hub-host",
                             start=start, step="1s").json()["series"][0]["points"] if p[1] is not None]
    assert before  # (steps before the first sample, and in the restart's hole, are null)
    first_ts = before[0][0]
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "stop", "--data-dir",
                        str(world["data"])], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert world["hub"].wait(10) == 0
    # the premise: the hub stays down longer than 1.5 intervals (the hole rule, README "Gaps and
    # null"); a restart quicker than that is no hole, and hubs now stop and start in about 1 s
    stopped = time.time()
    wait_until(lambda: time.time() > stopped + 2 * HUB_DEFAULTS["monitoring_interval"],
               what="two intervals without the hub")
    world["hub"].restart()
    world["hub"].wait_cycles(1)
    full = get(world, "/api/metrics/history", metric="node_load1", host="hub-host",
               start=start, step="1s").json()["series"][0]["points"]
    after = [p for p in full if p[1] is not None]
    assert after[0][0] == first_ts and len(after) > len(before)
    inside = [v for t, v in full if after[0][0] < t < after[-1][0]]
    assert None in inside  # the seconds the hub was not running are a hole, not a slope
    assert all(math.isfinite(v) for _, v in after)


def test_python_control_api(world):
    from autobot_monitor.hubclient import MonitorControl

    async def go():
        async with MonitorControl(world["url"]) as mc:
            st = await mc.get_current_status()
            hist = await mc.get_history("node_load1", host="hub-host", start="now-5m")
            opt = await mc.run_optimization_cycle(apply=False)
            return st, hist, opt
    st, hist, opt = asyncio.run(go())
    assert "hub-host" in st["hosts"] and hist["series"]
    assert isinstance(opt, dict)
