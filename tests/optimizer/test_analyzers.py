"""Analyzers on synthetic and recorded-shape series: a finding needs evidence, and the figures
it reports (slopes, time to full) are the ones in the data."""

from __future__ import annotations

from optsupport import NOW, cfg, host, inp, linear, series

from autobot_monitor.optimizer.host_analyzers import (
    analyze_cpu,
    analyze_disk,
    analyze_memory,
    analyze_thermal,
)
from autobot_monitor.optimizer.service_analyzers import (
    analyze_all,
    analyze_network,
    analyze_redis,
    analyze_services,
)

MIB = 2**20


def rss(values, pid="42", name="leaky"):
    return series("autobot_process_resident_memory_bytes", {"host": "box", "pid": pid, "name": name}, values)


def test_leak_slope_is_measured_in_bytes_per_hour():
    # 200 MiB -> +100 MiB/h, sampled each minute, with noise and one outlier
    vals = linear(200 * MIB, 100 * MIB / 60, noise=0.3 * MIB)
    vals[30] = 900 * MIB
    c = cfg("optimizer: {}")
    recs = analyze_memory(inp(c, [host(summary={"memory": {"available_bytes": 1000 * MIB}})],
                              history={"autobot_process_resident_memory_bytes": [rss(vals)]}))
    assert len(recs) == 1
    r = recs[0]
    assert r.kind == "memory_leak_suspected" and r.target == "leaky[42]"
    slope = r.evidence["values"]["slope_bytes_per_hour"]
    assert abs(slope - 100 * MIB) / (100 * MIB) < 0.05
    assert r.evidence["window"] == {"start": NOW - 3600, "end": NOW}
    # 1000 MiB available at 100 MiB/h: ~10 h -> high
    assert r.severity == "high" and abs(r.evidence["values"]["hours_until_memory_exhausted"] - 10) < 0.6
    assert r.action is None and not r.auto_applicable  # no restart configured: advice


def test_leak_proposes_restart_of_the_configured_service():
    c = cfg("""
services: [{name: api, type: http, url: "http://127.0.0.1:9/"}]
optimizer: {services: [{service: api, command: [/bin/true], process: leaky}]}
""")
    recs = analyze_memory(inp(c, [host()], history={
        "autobot_process_resident_memory_bytes": [rss(linear(200 * MIB, 2 * MIB))]}))
    assert recs[0].action.type == "restart_service" and recs[0].action.target == "api"
    assert recs[0].severity == "medium"  # available memory not measured: no escalation


def test_no_leak_for_flat_sawtooth_slow_or_short_series():
    saw = [200 * MIB + (i % 10) * 8 * MIB for i in range(61)]  # GC sawtooth, no trend
    flat = linear(300 * MIB, 0, noise=2 * MIB)
    slow = linear(300 * MIB, 10 * MIB / 60)  # 10 MiB/h < 50 MiB/h default
    short = linear(200 * MIB, 10 * MIB, n=4)
    for vals in (saw, flat, slow, short):
        assert analyze_memory(inp(cfg(), [host()], history={
            "autobot_process_resident_memory_bytes": [rss(vals)]})) == []


def test_time_to_full_from_free_space_history():
    # 30 GiB free, losing 10 GiB/h: full in 3 h from the last point -> critical
    per_min = 10 * 2**30 / 60
    vals = linear(40 * 2**30, -per_min)
    h = host(summary={"filesystems": [{"mountpoint": "/data", "used_percent": 70.0}]})
    recs = analyze_disk(inp(cfg(), [h], history={"node_filesystem_avail_bytes": [
        series("node_filesystem_avail_bytes", {"host": "box", "mountpoint": "/data"}, vals)]}))
    assert len(recs) == 1 and recs[0].severity == "critical"
    ttf = recs[0].evidence["values"]["seconds_until_full"]
    assert abs(ttf - 3 * 3600) < 120
    assert recs[0].better == "higher" and recs[0].action is None


def test_disk_recommends_cleanup_of_a_configured_root_on_that_filesystem():
    c = cfg("optimizer: {cleanup: [{path: /data/tmp, globs: ['*.tmp']}]}")
    vals = linear(40 * 2**30, -(10 * 2**30 / 60))
    recs = analyze_disk(inp(c, [host()], history={"node_filesystem_avail_bytes": [
        series("node_filesystem_avail_bytes", {"host": "box", "mountpoint": "/data"}, vals)]},
        cleanup={"/data/tmp": {"files": 3, "bytes": 5000, "mountpoint": "/data", "older_than_days": 7}}))
    assert recs[0].action.type == "disk_cleanup" and recs[0].auto_applicable
    assert recs[0].evidence["reclaimable"]["/data/tmp"]["bytes"] == 5000


def test_stable_filesystem_and_no_history_give_nothing():
    stable = series("node_filesystem_avail_bytes", {"host": "box", "mountpoint": "/"},
                    linear(50 * 2**30, 0, noise=1e6))
    assert analyze_disk(inp(cfg(), [host()], history={"node_filesystem_avail_bytes": [stable]})) == []
    assert analyze_all(inp(cfg(), [host()])) == []


def test_cpu_sustained_names_top_processes_and_renices_configured_one():
    c = cfg("optimizer: {processes: [{name: burner, nice: 10}]}")
    h = host(current={"autobot_process_cpu_percent": [({"pid": "7", "name": "burner"}, 180.0),
                                                       ({"pid": "8", "name": "other"}, 5.0)]})
    busy = series("autobot_cpu_busy_percent", {"host": "box", "cpu": "all"}, linear(93, 0, noise=2))
    recs = analyze_cpu(inp(c, [h], history={"autobot_cpu_busy_percent": [busy]}))
    assert len(recs) == 1 and recs[0].severity == "high"
    assert recs[0].evidence["top_processes"][0]["name"] == "burner"
    assert recs[0].action.type == "renice" and recs[0].auto_applicable
    # a short burst is not sustained
    burst = series("autobot_cpu_busy_percent", {"host": "box", "cpu": "all"}, [20] * 50 + [99] * 11)
    assert analyze_cpu(inp(c, [h], history={"autobot_cpu_busy_percent": [burst]})) == []


def test_service_down_and_slow():
    c = cfg("""
alert_thresholds: {api_response_time: 1.0}
services: [{name: web, type: http, url: "http://127.0.0.1:9/"},
           {name: slow, type: tcp, address: "127.0.0.1:9"}]
optimizer: {services: [{service: web, command: [/bin/true]}]}
""")
    services = {"web": {"type": "http", "up": False, "error": "connection refused", "checked_at": NOW},
                "slow": {"type": "tcp", "up": True}}
    hist = {"autobot_service_up": [series("autobot_service_up", {"service": "web"}, [1] * 50 + [0] * 11)],
            "autobot_service_response_time_seconds": [
                series("autobot_service_response_time_seconds", {"service": "slow"}, linear(2.5, 0, noise=.2))]}
    recs = analyze_services(inp(c, services=services, history=hist))
    down = next(r for r in recs if r.kind == "service_down")
    assert down.severity == "critical" and down.action.type == "restart_service" and down.auto_applicable
    assert down.evidence["values"]["down_since"] == NOW - 3600 + 50 * 60
    slow = next(r for r in recs if r.kind == "service_slow")
    assert slow.severity == "high" and slow.action is None


def test_redis_fragmentation_slowlog_and_evictions():
    services = {"cache": {"type": "redis", "up": True,
                          "details": {"mem_fragmentation_ratio": 2.3, "used_memory": 512 * MIB}},
                "tiny": {"type": "redis", "up": True,
                         "details": {"mem_fragmentation_ratio": 9.0, "used_memory": 1 * MIB}}}
    live = {"cache": {"slowlog": [{"id": i, "time": NOW - 60 * i, "duration_us": 20_000 + i,
                                   "command": "KEYS"} for i in range(12)] +
                      [{"id": 99, "time": NOW - 7200, "duration_us": 1, "command": "GET"}],
                      "maxmemory_policy": "allkeys-lru"}}
    ev = series("autobot_redis_evicted_keys_total", {"service": "cache"}, linear(0, 5))
    recs = analyze_redis(inp(cfg(), services=services, redis=live,
                             history={"autobot_redis_evicted_keys_total": [ev]}))
    kinds = {r.kind: r for r in recs}
    assert set(kinds) == {"redis_fragmentation", "redis_slowlog", "redis_evictions"}
    assert kinds["redis_fragmentation"].action.type == "redis_memory_purge"
    assert kinds["redis_slowlog"].evidence["values"]["entries"] == 12  # the 2 h old one is out
    assert kinds["redis_slowlog"].evidence["commands"] == [{"command": "KEYS", "count": 12}]
    assert abs(kinds["redis_evictions"].evidence["values"]["evicted_per_second"] - 5 / 60) < 1e-6
    assert kinds["redis_evictions"].evidence["maxmemory_policy"] == "allkeys-lru"
    assert all(r.target == "cache" for r in recs)  # 1 MiB used: fragmentation ignored


def test_mesh_loss_and_gpu_throttle():
    loss = series("autobot_mesh_loss_ratio", {"host": "a", "source": "a", "target": "b"}, linear(.05, 0))
    ok = series("autobot_mesh_loss_ratio", {"host": "a", "source": "a", "target": "c"}, linear(0, 0))
    recs = analyze_network(inp(cfg(), history={"autobot_mesh_loss_ratio": [loss, ok]}))
    assert [r.target for r in recs] == ["a->b"] and recs[0].severity == "medium"
    thr = series("autobot_gpu_throttle_reasons", {"host": "box", "gpu": "0", "reason": "hw_thermal_slowdown"},
                 [0] * 30 + [1] * 31)
    idle = series("autobot_gpu_throttle_reasons", {"host": "box", "gpu": "0", "reason": "gpu_idle"}, [1] * 61)
    recs = analyze_thermal(inp(cfg(), [host()], history={"autobot_gpu_throttle_reasons": [thr, idle]}))
    assert len(recs) == 1 and recs[0].kind == "gpu_throttling" and recs[0].severity == "high"
    assert abs(recs[0].evidence["values"]["active_share"] - 31 / 61) < 1e-6
