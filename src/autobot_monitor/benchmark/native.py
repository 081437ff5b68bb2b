"""``--engine native``: drive wrk, redis-benchmark and fio where installed, same shapes as the
built-in engine so both can be compared (docs/BENCHMARKS.md, "Benchmark suite").

* api: ``wrk -t T -c N -d S --latency URL`` (closed loop, like the built-in closed loop; wrk
  reports p50/p75/p90/p99, so p95 is None).
* database: ``redis-benchmark -c 1 -n COUNT -r 1000 --dbnum DB --csv CMD`` with our own command
  and key prefix per op (its default tests would write keys outside the prefix), cleaned up as
  in :mod:`.database`. Refused for a password-protected service (``-a`` would put the password
  on the command line, visible to every user).
* system disk: ``fio`` psync, ``--direct=1``, 1 MiB sequential write/read, 4 KiB random read
  at queue depth 1, ``--fallocate=none`` (the built-in engine appends to a new file too), on a
  file in the scratch dir (removed afterwards). CPU, memory and GPU have
  no native engine and stay built in.
* network: no native engine (iperf3 would need a peer); built in.

Every tool runs as an argv list (no shell), with a timeout.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import uuid

from ..config.models import RedisService
from ..errors import BenchmarkError
from . import database
from .api import Endpoint
from .base import cpu_count

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BenchmarkError(f"--engine native needs {name!r}, which is not installed "
                             f"(apt-get install {'redis-tools' if name == 'redis-benchmark' else name})")
    return path


def _run(argv: list[str], timeout: float) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise BenchmarkError(f"{os.path.basename(argv[0])} failed ({r.returncode}): "
                             f"{(r.stderr or r.stdout).strip()[:300]}")
    return r.stdout


def _dur(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchmarkError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """Figures from ``wrk --latency`` output: latency p50/p90/p99/max (s), throughput, errors."""
    lat = {f"p{m.group(1)}": _dur(m.group(2))
           for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M)}
    mx = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
    req = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = int(req.group(1)) if req else 0
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"requests": total, "throughput_per_second": float(rps.group(1)) if rps else None,
            "latency_seconds": {"p50": lat.get("p50"), "p90": lat.get("p90"), "p95": None,
                                "p99": lat.get("p99"), "max": _dur(mx.group(1)) if mx else None},
            "error_rate": errors / total if total else None}


def api(ep: Endpoint, concurrency: int, duration: float) -> dict:
    """wrk against ``ep.url`` at ``concurrency`` connections for ``duration`` seconds."""
    threads = max(1, min(concurrency, cpu_count()))
    out = _run([_tool("wrk"), "-t", str(threads), "-c", str(concurrency),
                "-d", f"{max(1, round(duration))}s", "--latency", "--timeout", f"{ep.timeout:g}s",
                ep.url], duration + 30)
    return {"name": ep.name, "url": ep.url, "engine": "wrk",
            "closed": {"mode": "closed", "concurrency": concurrency, **parse_wrk(out)}}


def _redis_cmds(prefix: str) -> dict[str, list[str]]:
    return {"ping": ["PING"], "set": ["SET", f"{prefix}k:__rand_int__", "x" * 64],
            "get": ["GET", f"{prefix}k:__rand_int__"], "incr": ["INCR", f"{prefix}counter"],
            "lpush": ["LPUSH", f"{prefix}list", "x" * 64], "lpop": ["LPOP", f"{prefix}list"]}


def redis(svc: RedisService, count: int, dbs: list[int] | None = None) -> dict:
    """redis-benchmark, ``count`` commands per op, one connection, per db; keys cleaned up."""
    if svc.password_env or svc.tls:
        raise BenchmarkError("--engine native refuses a Redis service with a password or TLS "
                             "(redis-benchmark would need them on its command line)")
    dbs = database.check_dbs(svc, dbs)
    tool = _tool("redis-benchmark")
    host, _, port = svc.address.rpartition(":")
    prefix = f"{database.PREFIX}{uuid.uuid4().hex}:"
    out: dict = {"name": svc.name, "address": svc.address, "engine": "redis-benchmark", "dbs": {}}
    try:
        for db in dbs:
            res = out["dbs"][str(db)] = {}
            for op, cmd in _redis_cmds(prefix).items():
                text = _run([tool, "-h", host.strip("[]"), "-p", port, "--dbnum", str(db), "-c", "1",
                             "-n", str(count), "-r", str(database.KEYSPACE), "--csv", *cmd], 300)
                row = list(csv.DictReader(io.StringIO(text)))[-1]
                ms = {k: float(row[f"{k}_latency_ms"]) / 1000 for k in ("p50", "p95", "p99", "max")}
                res[op] = {"commands": count, "ops_per_second": float(row["rps"]),
                           "latency_seconds": ms}
    finally:
        out["cleanup"] = database.safe_cleanup(svc, dbs, prefix)
    return out


def _fio(args: list[str], timeout: float) -> dict:
    job = json.loads(_run([_tool("fio"), "--output-format=json", "--ioengine=psync",
                           "--fallocate=none", *args],
                          timeout))["jobs"][0]
    return job


def disk(scratch_dir: str, size_cap: int, seconds: float) -> dict:
    """fio sequential write/read (1 MiB, direct) and 4 KiB random read QD1 on ``size_cap`` bytes."""
    os.makedirs(scratch_dir, exist_ok=True)
    path = os.path.join(scratch_dir, f"autobot-bench-fio-{uuid.uuid4().hex}.dat")
    size = f"--size={max(1, size_cap // (1024 * 1024))}M"
    try:
        try:
            w = _fio(["--name=w", f"--filename={path}", "--rw=write", "--bs=1M", size,
                      "--direct=1", "--end_fsync=1"], 600)
            direct = 1
        except BenchmarkError:  # filesystem without O_DIRECT (tmpfs): buffered + fsync
            w = _fio(["--name=w", f"--filename={path}", "--rw=write", "--bs=1M", size,
                      "--direct=0", "--end_fsync=1"], 600)
            direct = 0
        r = _fio(["--name=r", f"--filename={path}", "--rw=read", "--bs=1M", size,
                  f"--direct={direct}", "--invalidate=1"], 600)
        rr = _fio(["--name=rr", f"--filename={path}", "--rw=randread", "--bs=4k", size,
                   f"--direct={direct}", "--invalidate=1", "--time_based",
                   f"--runtime={max(1, round(seconds / 3))}"], seconds + 60)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return {"scratch_dir": scratch_dir, "engine": "fio", "method": "O_DIRECT" if direct else "buffered",
            "write_bytes_per_second": float(w["write"]["bw_bytes"]),
            "read_bytes_per_second": float(r["read"]["bw_bytes"]),
            "random_read_4k_iops": float(rr["read"]["iops"]), "random_read_queue_depth": 1}
