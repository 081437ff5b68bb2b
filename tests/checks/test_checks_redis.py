"""Redis check against real redis-server processes spawned by the fixtures."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as aioredis

from autobot_monitor.checks.redis import info_figures, parse_info, parse_keyspace
from autobot_monitor.checks.runner import ServiceChecker
from autobot_monitor.config.models import RedisService
from autobot_monitor.model import find_samples

RECORDED_INFO = """# Server\r
redis_version:7.10.2\r
uptime_in_seconds:1234\r
\r
# Clients\r
connected_clients:7\r
blocked_clients:1\r
\r
# Memory\r
used_memory:1048576\r
maxmemory:0\r
mem_fragmentation_ratio:1.25\r
\r
# Stats\r
total_commands_processed:999\r
instantaneous_ops_per_sec:12\r
keyspace_hits:3\r
keyspace_misses:1\r
evicted_keys:0\r
expired_keys:5\r
\r
# Replication\r
role:master\r
\r
# Keyspace\r
db0:keys=10,expires=2,avg_ttl=100\r
db4:keys=1,expires=0,avg_ttl=0\r
"""


def svc(server, name: str = "cache", **kw) -> RedisService:
    return RedisService(type="redis", name=name, address=server.address, **kw)


async def run_once(*services):
    checker = ServiceChecker(list(services))
    try:
        return await checker.run()
    finally:
        await checker.aclose()


def value(fams, name, **labels):
    found = find_samples(fams, name, **labels)
    assert len(found) == 1, (name, labels, found)
    return found[0].value


def test_parse_recorded_info_text():
    info = parse_info(RECORDED_INFO)
    assert info["redis_version"] == "7.10.2"  # stays a string (not 7.1)
    assert parse_keyspace(info) == {0: {"keys": 10, "expires": 2}, 4: {"keys": 1, "expires": 0}}
    fig = info_figures(info)
    assert fig["mem_fragmentation_ratio"] == 1.25 and fig["used_memory"] == 1048576
    assert fig["keyspace"] == {"0": {"keys": 10, "expires": 2}, "4": {"keys": 1, "expires": 0}}
    only = info_figures(info, [4, 9])
    assert only["keyspace"] == {"4": {"keys": 1, "expires": 0}, "9": {"keys": 0, "expires": 0}}


async def test_redis_up_with_plausible_figures(redis_server):
    fams, (r,) = await run_once(svc(redis_server, host="db1"))
    assert r.up and r.error is None and r.host == "db1" and r.type == "redis"
    assert 0 < r.response_time_seconds <= 5.0  # measured, within the check's (default) timeout
    ping = value(fams, "autobot_redis_ping_seconds", service="cache")
    assert 0 < ping <= r.response_time_seconds
    assert value(fams, "autobot_redis_memory_used_bytes") > 100_000
    assert value(fams, "autobot_redis_memory_fragmentation_ratio") > 0
    assert value(fams, "autobot_redis_connected_clients") >= 1
    assert value(fams, "autobot_redis_blocked_clients") == 0
    assert value(fams, "autobot_redis_commands_processed_total") >= 1
    assert value(fams, "autobot_redis_uptime_seconds") >= 0
    assert value(fams, "autobot_redis_instantaneous_ops_per_second") >= 0
    assert find_samples(fams, "autobot_redis_memory_max_bytes") == []  # maxmemory 0 = unlimited
    (info,) = find_samples(fams, "autobot_redis_info")
    assert info.value == 1
    assert info.label_dict["role"] == "master"
    assert info.label_dict["version"].startswith(("6.", "7.", "8."))
    assert r.details["role"] == "master"


async def test_fresh_server_has_no_hit_ratio_then_hits_and_misses_give_one(redis_factory):
    server = redis_factory(["--maxmemory", "64mb"])
    fams, (r,) = await run_once(svc(server))
    assert r.up
    assert find_samples(fams, "autobot_redis_keyspace_hit_ratio") == []
    assert value(fams, "autobot_redis_keyspace_hits_total") == 0
    assert value(fams, "autobot_redis_memory_max_bytes") == 64 * 1024 * 1024
    c = aioredis.Redis(host="127.0.0.1", port=server.port)
    try:
        await c.set("k", "v")
        await c.get("k")  # hit
        await c.get("absent")  # miss
    finally:
        await c.aclose()
    fams, _ = await run_once(svc(server))
    assert value(fams, "autobot_redis_keyspace_hit_ratio") == pytest.approx(0.5)


async def test_db_keys_reflect_keys_set_in_a_test_db(redis_server):
    prefix = f"autobot-test:{secrets.token_hex(4)}:"
    c = aioredis.Redis(host="127.0.0.1", port=redis_server.port, db=7)
    keys = [f"{prefix}{i}" for i in range(5)]
    try:
        for k in keys:
            await c.set(k, "x")
        await c.expire(keys[0], 300)
        await c.expire(keys[1], 300)
        fams, (r,) = await run_once(svc(redis_server))
        assert value(fams, "autobot_redis_db_keys", service="cache", db="7") == 5
        assert value(fams, "autobot_redis_db_expiring_keys", service="cache", db="7") == 2
        assert r.details["keyspace"]["7"] == {"keys": 5, "expires": 2}
        # Listed databases only; a listed db with no keys reports 0 (a measurement, not absence).
        fams, (r,) = await run_once(svc(redis_server, databases=[7, 11]))
        assert sorted(s.label_dict["db"] for s in find_samples(fams, "autobot_redis_db_keys")) == ["11", "7"]
        assert value(fams, "autobot_redis_db_keys", db="11") == 0
        assert value(fams, "autobot_redis_db_expiring_keys", db="11") == 0
    finally:
        await c.delete(*keys)
        await c.aclose()
    fams, _ = await run_once(svc(redis_server))
    assert find_samples(fams, "autobot_redis_db_keys", db="7") == []  # INFO drops empty dbs


async def test_password_from_env(redis_auth_server, monkeypatch):
    monkeypatch.setenv("AUTOBOT_TEST_REDIS_PW", redis_auth_server.password)
    fams, (r,) = await run_once(svc(redis_auth_server, password_env="AUTOBOT_TEST_REDIS_PW"))
    assert r.up, r.error
    assert r.details["ping_timing"] == "kernel"  # the timing connection authenticated too
    assert redis_auth_server.password not in repr(r) + repr(fams)


async def test_missing_password_env_is_down_with_clear_error(redis_auth_server, monkeypatch):
    monkeypatch.delenv("AUTOBOT_TEST_REDIS_PW_MISSING", raising=False)
    fams, (r,) = await run_once(svc(redis_auth_server, password_env="AUTOBOT_TEST_REDIS_PW_MISSING"))
    assert not r.up
    assert r.error == "password_env AUTOBOT_TEST_REDIS_PW_MISSING is not set"
    assert r.response_time_seconds is None
    assert [f.name for f in fams] == ["autobot_service_up"]


async def test_wrong_password_is_down_and_redacted(redis_auth_server, monkeypatch):
    wrong = "wrong-" + secrets.token_hex(8)
    monkeypatch.setenv("AUTOBOT_TEST_REDIS_PW", wrong)
    _, (r,) = await run_once(svc(redis_auth_server, password_env="AUTOBOT_TEST_REDIS_PW"))
    assert not r.up
    assert r.error and "AuthenticationError" in r.error and "invalid" in r.error
    assert wrong not in r.error and redis_auth_server.password not in r.error


async def test_no_password_on_auth_server_is_down(redis_auth_server):
    _, (r,) = await run_once(svc(redis_auth_server))
    assert not r.up
    assert r.error and "Authentication required" in r.error


async def test_client_is_kept_between_cycles_and_rebuilt_after_restart(redis_factory):
    server = redis_factory()
    checker = ServiceChecker([svc(server)])
    probe = aioredis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    try:
        _, (r,) = await checker.run()
        assert r.up
        before = (await probe.info("stats"))["total_connections_received"]
        for _ in range(3):
            _, (r,) = await checker.run()
            assert r.up
        assert (await probe.info("stats"))["total_connections_received"] == before
        await probe.aclose()

        server.stop()
        _, (r,) = await checker.run()
        assert not r.up and r.response_time_seconds is None
        assert r.error and "Connection" in r.error
        server.start()
        _, (r,) = await checker.run()
        assert r.up, r.error
    finally:
        await probe.aclose()
        await checker.aclose()


async def test_server_restart_between_cycles_is_not_an_outage(redis_factory):
    server = redis_factory()
    checker = ServiceChecker([svc(server)])
    try:
        _, (r,) = await checker.run()
        assert r.up
        server.stop()
        server.start()
        _, (r,) = await checker.run()  # the kept connection is dead; one fresh retry succeeds
        assert r.up, r.error
    finally:
        await checker.aclose()


async def test_aclose_releases_the_connection(redis_factory):
    server = redis_factory()
    checker = ServiceChecker([svc(server)])
    _, (r,) = await checker.run()
    assert r.details["connected_clients"] == 2  # the check's client and its kernel-timed PING
    await checker.aclose()
    probe = aioredis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    try:
        assert (await probe.info("clients"))["connected_clients"] == 1  # the probe alone
    finally:
        await probe.aclose()
