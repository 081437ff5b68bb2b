"""ServiceChecker: concurrency, isolation, and the declared-families contract."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from autobot_monitor.checks.metrics import ALL_SPECS
from autobot_monitor.checks.runner import ServiceChecker
from autobot_monitor.config.models import HttpService, MonitorConfig, RedisService, TcpService
from autobot_monitor.model import find_samples
from support import wait_until


def all_kinds(http_server, tcp_listener, closed_port, redis_address, slow_timeout=5.0):
    return [
        HttpService(type="http", name="web", url=http_server.url("/ok"), host="h1"),
        HttpService(type="http", name="broken", url=http_server.url("/fail")),
        HttpService(type="http", name="hang", url=http_server.url("/slow"), timeout=slow_timeout),
        TcpService(type="tcp", name="listener", address=tcp_listener),
        TcpService(type="tcp", name="refused", address=f"127.0.0.1:{closed_port}"),
        RedisService(type="redis", name="cache", address=redis_address, databases=[0, 3]),
    ]


async def test_one_hanging_check_does_not_delay_the_others(http_server, tcp_listener, closed_port,
                                                           redis_server):
    services = all_kinds(http_server, tcp_listener, closed_port, redis_server.address, slow_timeout=1.0)
    checker = ServiceChecker(services)
    try:
        _, results = await checker.run()
    finally:
        await checker.aclose()
    by = {r.name: r for r in results}
    assert [r.name for r in results] == [s.name for s in services]  # config order
    assert by["hang"].error == "timeout" and not by["hang"].up
    assert by["web"].up and by["listener"].up and by["cache"].up
    assert not by["broken"].up and not by["refused"].up
    for name in ("web", "listener", "cache", "broken"):
        assert by[name].response_time_seconds is not None, name  # answered, not cut off


async def test_checks_run_concurrently_not_one_after_another(http_server):
    services = [HttpService(type="http", name=f"slow{i}", url=http_server.url("/slow"),
                            timeout=5.0) for i in range(6)]
    checker = ServiceChecker(services)
    http_server.release.set()  # let /slow requests left by earlier tests end first
    await asyncio.to_thread(wait_until, lambda: http_server.slow_inflight == 0, 30.0)
    http_server.release.clear()
    http_server.slow_max = 0
    try:
        task = asyncio.create_task(checker.run())
        # all six requests wait in the server at once: none waits for another to end
        await asyncio.to_thread(wait_until, lambda: http_server.slow_max == 6, 60.0)
        http_server.release.set()
        _, results = await task
    finally:
        http_server.release.clear()
        await checker.aclose()
    assert all(r.up for r in results), [r.error for r in results]


async def test_every_family_is_declared_with_matching_labels(http_server, tcp_listener, closed_port,
                                                             redis_factory):
    server = redis_factory(["--maxmemory", "32mb"])
    c = aioredis.Redis(host="127.0.0.1", port=server.port, db=3)
    await c.set("k", "v", ex=60)
    await c.get("k")
    await c.aclose()
    checker = ServiceChecker(all_kinds(http_server, tcp_listener, closed_port, server.address,
                                       slow_timeout=0.3))
    try:
        fams, results = await checker.run()
    finally:
        await checker.aclose()
    specs = {s.name: s for s in ALL_SPECS}
    assert len(specs) == len(ALL_SPECS)
    for fam in fams:
        spec = specs.get(fam.name)
        assert spec is not None, f"{fam.name} emitted but not in ALL_SPECS"
        assert (fam.type, fam.help, fam.unit) == (spec.type, spec.help, spec.unit)
        assert fam.samples, fam.name
        for s in fam.samples:
            assert s.name == fam.name
            assert set(s.label_dict) == set(spec.labels), (fam.name, s.labels)
            if fam.type == "info":
                assert s.value == 1
    # This mix exercises every declared family.
    assert {f.name for f in fams} == set(specs)
    assert find_samples(fams, "autobot_redis_db_keys", db="3")[0].value == 1
    assert find_samples(fams, "autobot_redis_db_keys", db="0")[0].value == 0
    # Results are JSON-safe.
    json.dumps([r.to_json() for r in results])


async def test_services_from_parsed_config_and_empty_list(http_server):
    cfg = MonitorConfig.model_validate({"services": [
        {"type": "http", "name": "web", "url": http_server.url("/ok")},
    ]})
    checker = ServiceChecker(cfg.services)
    fams, (r,) = await checker.run()
    await checker.aclose()
    assert r.up
    empty = ServiceChecker([])
    assert await empty.run() == ([], [])
    await empty.aclose()


async def test_repeated_cycles_after_a_timeout_keep_working(http_server, redis_server):
    services = [
        HttpService(type="http", name="hang", url=http_server.url("/slow"), timeout=0.3),
        RedisService(type="redis", name="cache", address=redis_server.address),
    ]
    checker = ServiceChecker(services)
    try:
        for _ in range(3):
            _, (hang, cache) = await checker.run()
            assert hang.error == "timeout"
            assert cache.up, cache.error
    finally:
        await checker.aclose()
