"""Redis benchmark: PING, SET, GET, INCR, LPUSH, LPOP and pipelined SET per configured db index.

Safety (the legacy benchmark left its keys in live databases):

* every key lives under ``autobot-bench:<uuid4>:`` (unique per run) and at most
  :data:`KEYSPACE` + 2 keys per db are touched; SET uses ``EX 600`` and the counter and list get
  an EXPIRE, so even a ``kill -9`` leaves nothing after ten minutes;
* afterwards (``finally``, so also on Ctrl-C / SIGTERM, with both signals held off while it runs)
  a fresh connection SCANs ``<prefix>*`` in every db used and UNLINKs what it finds; the result
  reports how many keys were removed and how many are left (must be 0);
* FLUSHDB / FLUSHALL are never sent;
* a db index that is not in the service's config (``db`` or ``databases``) is refused
  (:class:`~autobot_monitor.errors.BenchmarkError`) before anything is sent.

Latency figures are seconds per command, one connection, one command at a time (queue depth 1);
for the pipelined SET it is the round trip of a batch of :data:`PIPELINE` SETs divided by the
batch size. Scored figure: the p95 of each non-pipelined command type. The figures include
redis-py's own per-command cost (about 50 us on a 2-core VM, where redis-benchmark's C client
sees 15 us p50): ``client_cpu_ratio`` near 1 (``client_cpu_saturated``) says the Python client,
not Redis, set the pace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator

import redis

from ..config.models import RedisService
from ..errors import BenchmarkError
from .base import SLICES, CpuMeter, ProgressFn, no_progress, slice_index
from .stats import Reservoir, percentile_summary, spread

PREFIX = "autobot-bench:"
KEYSPACE = 1000  # distinct SET/GET keys per db
PIPELINE = 100
TTL_S = 600
OPS = ("ping", "set", "get", "incr", "lpush", "lpop", "pipelined_set")


def allowed_dbs(svc: RedisService) -> list[int]:
    """The db indexes the config names for ``svc``: its ``databases`` list, else its ``db``."""
    return sorted(set(svc.databases)) if svc.databases else [svc.db]


def check_dbs(svc: RedisService, dbs: list[int] | None) -> list[int]:
    """``dbs`` (default: :func:`allowed_dbs`), refusing any index the config does not name."""
    allowed = allowed_dbs(svc)
    if not dbs:
        return allowed
    bad = [d for d in dbs if d not in allowed]
    if bad:
        raise BenchmarkError(f"redis service {svc.name!r}: db {bad} not in its config "
                             f"(configured: {allowed}); refusing to write there")
    return list(dict.fromkeys(dbs))


def connect(svc: RedisService, db: int) -> redis.Redis:
    """A client for ``svc`` on ``db``; the password comes from ``$password_env``."""
    host, _, port = svc.address.rpartition(":")
    password = os.environ.get(svc.password_env) if svc.password_env else None
    return redis.Redis(host=host.strip("[]"), port=int(port), db=db, username=svc.username,
                       password=password, ssl=svc.tls, socket_timeout=svc.timeout,
                       socket_connect_timeout=svc.timeout)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Block SIGINT and SIGTERM while the body runs (cleanup must not be interrupted); signals
    that arrive meanwhile are delivered when it ends."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def cleanup(svc: RedisService, dbs: list[int], prefix: str) -> dict:
    """UNLINK every key matching ``prefix*`` in each of ``dbs`` (SCAN, batches of 500) on fresh
    connections; returns ``{"removed": n, "left": n, "errors": [...]}``."""
    if not prefix.startswith(PREFIX) or len(prefix) < len(PREFIX) + 32:
        raise BenchmarkError(f"refusing to clean up with prefix {prefix!r}")
    removed = left = 0
    errors = []
    for db in dbs:
        try:
            with connect(svc, db) as r:
                batch = []
                for k in r.scan_iter(match=f"{prefix}*", count=1000):
                    batch.append(k)
                    if len(batch) >= 500:
                        removed += r.unlink(*batch)
                        batch.clear()
                if batch:
                    removed += r.unlink(*batch)
                left += sum(1 for _ in r.scan_iter(match=f"{prefix}*", count=1000))
        except redis.RedisError as e:
            errors.append(f"db {db}: {e}")
    return {"removed": removed, "left": left if not errors else None, "errors": errors}


def _measure(r: redis.Redis, prefix: str, op: str, budget: float, progress, label: str) -> dict:
    slices = [Reservoir(100_000) for _ in range(SLICES)]
    val = b"x" * 64
    pipe_n = PIPELINE if op == "pipelined_set" else 1
    meter = CpuMeter()
    t0 = time.perf_counter()
    end = t0 + budget
    i = n = 0
    while (start := time.perf_counter()) < end:
        k = f"{prefix}k:{i % KEYSPACE}"
        if op == "ping":
            r.ping()
        elif op == "set":
            r.set(k, val, ex=TTL_S)
        elif op == "get":
            r.get(k)
        elif op == "incr":
            r.incr(f"{prefix}counter")
        elif op == "lpush":
            r.lpush(f"{prefix}list", val)
        elif op == "lpop":
            r.lpop(f"{prefix}list")
        else:
            p = r.pipeline(transaction=False)
            for j in range(PIPELINE):
                p.set(f"{prefix}p:{(i * PIPELINE + j) % KEYSPACE}", val, ex=TTL_S)
            p.execute()
        lat = (time.perf_counter() - start) / pipe_n
        slices[slice_index(start - t0, budget)].add(lat)
        i += 1
        n += pipe_n
        if i == 1 and op in ("incr", "lpush"):
            r.expire(f"{prefix}{'counter' if op == 'incr' else 'list'}", TTL_S)
        if i % 256 == 0:
            progress(label, (start - t0) / budget)
    wall = time.perf_counter() - t0
    allv = [v for s in slices for v in s.data]
    return {"commands": n, "ops_per_second": n / wall if wall > 0 else None,
            "latency_seconds": percentile_summary(allv),
            "latency_p95_noise_seconds": spread([percentile_summary(s.data)["p95"] for s in slices]),
            **meter.result()}


def run_service(svc: RedisService, duration: float, dbs: list[int] | None = None,
                progress: ProgressFn = no_progress) -> dict:
    """Benchmark ``svc`` on each db in ``dbs`` (checked by :func:`check_dbs`) for ``duration``
    seconds in all, split equally over dbs and commands. Returns ``{name, address, prefix,
    dbs: {db: {op: figures}}, cleanup}``; a failing db gets ``{"error": msg}``. Raises
    BenchmarkError for a db not in config; KeyboardInterrupt passes through after cleanup."""
    dbs = check_dbs(svc, dbs)
    prefix = f"{PREFIX}{uuid.uuid4().hex}:"
    budget = duration / (len(dbs) * len(OPS))
    out: dict = {"name": svc.name, "address": svc.address, "prefix": prefix, "dbs": {}}
    try:
        for db in dbs:
            res: dict = {}
            out["dbs"][str(db)] = res
            try:
                with connect(svc, db) as r:
                    r.ping()
                    for op in OPS:
                        res[op] = _measure(r, prefix, op, budget, progress,
                                           f"redis {svc.name} db{db}: {op}")
            except redis.RedisError as e:
                res["error"] = f"{type(e).__name__}: {e}"
    finally:
        out["cleanup"] = safe_cleanup(svc, dbs, prefix)
    return out


def safe_cleanup(svc: RedisService, dbs: list[int], prefix: str) -> dict:
    """:func:`cleanup` with SIGINT/SIGTERM held off; a signal that slips in just before the mask
    is taken restarts the cleanup and is re-raised (as KeyboardInterrupt) once it is done."""
    interrupted = False
    while True:
        try:
            with signals_held():
                result = cleanup(svc, dbs, prefix)
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return result
