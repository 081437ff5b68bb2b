"""Redis service check (``RedisService``): PING round trip, then ``INFO`` figures.

One ``redis.asyncio`` client (a single dedicated connection) is kept per service between cycles
and rebuilt after any error, timeout, or a change of the password in the environment. A reused
connection that turns out to be dead (server restarted) is retried once on a fresh one within the
same cycle, so a restart does not read as an outage.

Up when PING is answered. ``response_time_seconds`` is connect (when a new connection was needed,
including AUTH/SELECT) plus PING; ``autobot_redis_ping_seconds`` is the PING round trip alone.
Without TLS, the PING round trip is timed by the kernel on a second kept connection
(:mod:`.wireping`: send time to the kernel's receive timestamp of the answer), so the hub's CPU
load cannot stretch it; ``details.ping_timing`` says ``kernel``, or ``wall`` where that was not
possible (TLS, no timestamp, the timing connection failing) and redis-py's round trip is used. If
INFO then fails (an ACL without ``+info``), the service stays up, ``error`` says why, and only the
PING figures are emitted.

All figures come from the default ``INFO`` sections (server, clients, memory, stats, replication,
keyspace), parsed from the raw text by :func:`parse_info`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..clock import SYSTEM_CLOCK, Clock
from ..config.models import RedisService
from ..secret_registry import register_secret
from .base import (
    Check,
    CheckFailed,
    Families,
    ServiceResult,
    describe,
    split_hostport,
)
from .metrics import REDIS_SPECS
from .wireping import WirePing

# details key -> (family, INFO field) for the plain numeric figures
_NUMERIC = (
    ("used_memory", "autobot_redis_memory_used_bytes"),
    ("mem_fragmentation_ratio", "autobot_redis_memory_fragmentation_ratio"),
    ("connected_clients", "autobot_redis_connected_clients"),
    ("blocked_clients", "autobot_redis_blocked_clients"),
    ("instantaneous_ops_per_sec", "autobot_redis_instantaneous_ops_per_second"),
    ("total_commands_processed", "autobot_redis_commands_processed_total"),
    ("keyspace_hits", "autobot_redis_keyspace_hits_total"),
    ("keyspace_misses", "autobot_redis_keyspace_misses_total"),
    ("evicted_keys", "autobot_redis_evicted_keys_total"),
    ("expired_keys", "autobot_redis_expired_keys_total"),
    ("uptime_in_seconds", "autobot_redis_uptime_seconds"),
)
_NUMERIC_FIELDS = (*(k for k, _ in _NUMERIC), "maxmemory")


def parse_info(text: str) -> dict[str, str]:
    """Raw ``INFO`` text -> ``{field: value}`` strings (section headers and blank lines skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            out[key] = value
    return out


def _number(v: str | None) -> int | float | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return None


def parse_keyspace(info: dict[str, str]) -> dict[int, dict[str, int]]:
    """``db3:keys=5,expires=1,avg_ttl=0`` lines -> ``{3: {"keys": 5, "expires": 1}}``."""
    out: dict[int, dict[str, int]] = {}
    for key, value in info.items():
        if not (key.startswith("db") and key[2:].isdigit()):
            continue
        fields = dict(p.partition("=")[::2] for p in value.split(","))
        try:
            out[int(key[2:])] = {"keys": int(fields.get("keys", 0)),
                                 "expires": int(fields.get("expires", 0))}
        except ValueError:
            continue
    return out


def info_figures(info: dict[str, str], databases: list[int] | None = None) -> dict[str, Any]:
    """The figures this check reports, from parsed INFO. Numeric fields missing or unparsable are
    left out. ``keyspace`` maps db index (as a string, JSON-safe) to keys/expires: the listed
    ``databases`` (0/0 for ones INFO omits) or, when none are listed, every db INFO lists."""
    out: dict[str, Any] = {}
    for f in _NUMERIC_FIELDS:
        n = _number(info.get(f))
        if n is not None:
            out[f] = n
    out["role"] = info.get("role", "")
    out["redis_version"] = info.get("redis_version", "")
    ks = parse_keyspace(info)
    if databases:
        ks = {db: ks.get(db, {"keys": 0, "expires": 0}) for db in databases}
    out["keyspace"] = {str(db): v for db, v in sorted(ks.items())}
    return out


class RedisCheck(Check):
    """Check for one :class:`RedisService`."""

    SPECS = REDIS_SPECS

    def __init__(self, svc: RedisService, clock: Clock = SYSTEM_CLOCK):
        super().__init__(svc, clock)
        self._client: aioredis.Redis | None = None
        self._password: str | None = None
        self._closing: set[asyncio.Task] = set()
        host, port = split_hostport(svc.address)
        self._wire = WirePing(host, port, svc.timeout) if not svc.tls and WirePing.supported() \
            else None
        self._wire_lock = threading.Lock()  # one timing exchange at a time, even after a timeout

    def _read_password(self) -> str | None:
        env = self.svc.password_env
        if not env:
            return None
        value = os.environ.get(env)
        if value is None:
            raise CheckFailed(f"password_env {env} is not set")
        if value == "":
            raise CheckFailed(f"password_env {env} is empty")
        register_secret(value)
        return value

    def _build(self, password: str | None) -> aioredis.Redis:
        svc: RedisService = self.svc
        host, port = split_hostport(svc.address)
        client = aioredis.Redis(
            host=host, port=port, db=svc.db, username=svc.username, password=password,
            ssl=svc.tls, socket_timeout=svc.timeout, socket_connect_timeout=svc.timeout,
            retry=Retry(NoBackoff(), 0), single_connection_client=True, decode_responses=True,
            client_name="autobot-monitor", protocol=2,  # RESP2: works with Redis < 6 too
        )
        # Keep INFO as raw text: parse_info() here, not redis-py's number guessing.
        client.set_response_callback("INFO", lambda r, **_: r)
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            task = asyncio.ensure_future(_close_quietly(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def reset(self) -> None:
        self._drop()

    async def _connect(self, client: aioredis.Redis) -> None:
        await client.initialize()
        conn = client.connection
        if conn is not None and not conn.is_connected:
            await conn.connect()

    async def _ping(self) -> tuple[float, float]:
        """(response time, ping round trip); reuses or builds the client."""
        password = self._read_password()
        if self._client is not None and password != self._password:
            self._drop()
        reused = self._client is not None
        if self._client is None:
            self._client, self._password = self._build(password), password
        client = self._client
        t0 = self.clock.monotonic()
        try:
            await self._connect(client)
            t1 = self.clock.monotonic()
            await client.ping()
        except RedisConnectionError:
            if not reused:
                raise
            self._drop()  # stale connection from a previous cycle: one fresh try
            self._client = client = self._build(password)
            t0 = self.clock.monotonic()
            await self._connect(client)
            t1 = self.clock.monotonic()
            await client.ping()
        t2 = self.clock.monotonic()
        return t2 - t0, t2 - t1

    async def check(self) -> ServiceResult:
        try:
            response_time, ping = await self._ping()
        except CheckFailed:
            raise
        except RedisTimeoutError as e:
            self._drop()
            raise TimeoutError("timeout") from e
        except BaseException:
            self._drop()
            raise
        wire = await self._wire_ping()
        if wire is not None:
            response_time, ping = response_time - ping + wire, wire
        details: dict[str, Any] = {"ping_seconds": ping,
                                   "ping_timing": "kernel" if wire is not None else "wall"}
        try:
            text = await self._client.info()  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001 - the service answered PING; report INFO failure
            self._drop()
            return self.result(True, response_time_seconds=response_time, details=details,
                               error=f"INFO failed: {describe(e)}")
        except BaseException:
            self._drop()
            raise
        details.update(info_figures(parse_info(str(text)), self.svc.databases))
        return self.result(True, response_time_seconds=response_time, details=details)

    async def _wire_ping(self) -> float | None:
        """The kernel-timed PING round trip in seconds, None when not available this cycle."""
        if self._wire is None:
            return None

        def run() -> float | None:
            if not self._wire_lock.acquire(blocking=False):
                return None  # the previous cycle's exchange is still running out its timeout
            try:
                return self._wire.ping(self.svc.username, self._password)  # type: ignore[union-attr]
            except (OSError, CheckFailed):
                return None
            finally:
                self._wire_lock.release()

        return await asyncio.to_thread(run)

    def emit(self, result: ServiceResult, fams: Families) -> None:
        d = result.details
        svc = {"service": result.name}
        if "ping_seconds" in d:
            fams["autobot_redis_ping_seconds"].add(d["ping_seconds"], svc)
        if "redis_version" not in d:
            return
        for key, fam in _NUMERIC:
            if key in d:
                fams[fam].add(d[key], svc)
        if d.get("maxmemory"):
            fams["autobot_redis_memory_max_bytes"].add(d["maxmemory"], svc)
        hits, misses = d.get("keyspace_hits", 0), d.get("keyspace_misses", 0)
        if hits + misses > 0:
            fams["autobot_redis_keyspace_hit_ratio"].add(hits / (hits + misses), svc)
        for db, v in d.get("keyspace", {}).items():
            fams["autobot_redis_db_keys"].add(v["keys"], {"service": result.name, "db": db})
            fams["autobot_redis_db_expiring_keys"].add(v["expires"], {"service": result.name, "db": db})
        fams["autobot_redis_info"].add(1, {"service": result.name, "role": d["role"],
                                          "version": d["redis_version"]})

    async def aclose(self) -> None:
        if self._wire is not None:
            self._wire.close()
        client, self._client = self._client, None
        if client is not None:
            await _close_quietly(client)
        if self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)


async def _close_quietly(client: aioredis.Redis) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.aclose(), 2.0)
