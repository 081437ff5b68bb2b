"""Built-in benchmark engine vs wrk, redis-benchmark and fio on this machine (issue 7).

    .venv/bin/python bench/benchmark_compare.py [--redis 127.0.0.1:6379] [--db 15] [--url URL]
        [--scratch DIR] [--seconds 10] [--rounds 3]

* API: a delay server in its own process (``/sleep/0.02``, threaded) and, with ``--url``, any
  other target; built-in closed loop vs ``wrk -t1`` at the same concurrency (10), p50/p99 and
  req/s; the built-in client's CPU share says when it, not the target, was the limit.
* Redis: built-in one-connection loop vs ``redis-benchmark -c 1`` per command (p50, ops/s),
  keys under the run prefix in ``--db`` only, removed afterwards.
* Disk: built-in O_DIRECT sequential write/read and 4 KiB QD1 random read vs fio psync direct,
  same file size, ``--rounds`` alternating rounds, medians.

Prints a markdown table per part and writes bench/out/benchmark_compare.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, machine_info, table, write_json  # noqa: E402

from autobot_monitor.benchmark import api, database, native, system  # noqa: E402
from autobot_monitor.config.models import RedisService  # noqa: E402

SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/sleep/"):
            time.sleep(float(self.path.rsplit("/", 1)[1]))
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H); s.daemon_threads = True
s.serve_forever()
"""


def rel(a, b):
    return None if not a or not b else (a - b) / b


def pct(x):
    return "n/a" if x is None else f"{x:+.1%}"


def api_part(urls: list[str], seconds: float, conc: int) -> list[dict]:
    rows = []
    for url in urls:
        ep = api.Endpoint("t", url)
        b = asyncio.run(api.closed_loop(ep, conc, seconds))
        w = native.api(ep, conc, seconds)["closed"]
        rows.append({"url": url, "concurrency": conc,
                     "builtin": {"p50": b["latency_seconds"]["p50"], "p99": b["latency_seconds"]["p99"],
                                 "rps": b["throughput_per_second"],
                                 "client_cpu_ratio": b["client_cpu_ratio"],
                                 "client_cpu_saturated": b["client_cpu_saturated"]},
                     "wrk": {"p50": w["latency_seconds"]["p50"], "p99": w["latency_seconds"]["p99"],
                             "rps": w["throughput_per_second"]}})
    return rows


def redis_part(address: str, db: int, seconds: float) -> list[dict]:
    svc = RedisService(name="cmp", type="redis", address=address, databases=[db])
    prefix = f"{database.PREFIX}{uuid.uuid4().hex}:"
    rows = []
    try:
        with database.connect(svc, db) as r:
            built = {op: database._measure(r, prefix, op, seconds, lambda *_: None, op)
                     for op in database.OPS if op != "pipelined_set"}
    finally:
        database.safe_cleanup(svc, [db], prefix)
    nat = native.redis(svc, 20000, [db])["dbs"][str(db)]
    for op, b in built.items():
        rows.append({"op": op, "builtin": {"p50": b["latency_seconds"]["p50"], "ops": b["ops_per_second"]},
                     "redis-benchmark": {"p50": nat[op]["latency_seconds"]["p50"],
                                         "ops": nat[op]["ops_per_second"]}})
    return rows


def disk_part(scratch: str, size: int, seconds: float, rounds: int) -> dict:
    b, f = [], []
    for _ in range(rounds):
        b.append(system.disk(scratch, size, seconds))
        f.append(native.disk(scratch, size, seconds))
    keys = ("write_bytes_per_second", "read_bytes_per_second", "random_read_4k_iops")
    return {"size_bytes": size, "rounds": rounds, "method": b[0]["method"],
            "builtin": {k: statistics.median(x[k] for x in b) for k in keys},
            "fio": {k: statistics.median(x[k] for x in f) for k in keys},
            "builtin_all": [{k: x[k] for k in keys} for x in b],
            "fio_all": [{k: x[k] for k in keys} for x in f]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", default="127.0.0.1:6379")
    ap.add_argument("--db", type=int, default=15)
    ap.add_argument("--url", action="append", default=[])
    ap.add_argument("--scratch", default="/tmp/autobot-bench-compare")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=10)
    a = ap.parse_args()
    port = free_port()
    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        time.sleep(1.0)
        urls = [f"http://127.0.0.1:{port}/sleep/0.02", *a.url]
        api_rows = api_part(urls, a.seconds, a.concurrency)
    finally:
        srv.terminate()
        srv.wait(10)
    redis_rows = redis_part(a.redis, a.db, a.seconds / 4)
    disk = disk_part(a.scratch, 1 << 30, a.seconds, a.rounds)
    ms = lambda v: f"{v * 1000:.2f}"  # noqa: E731
    print(table([[r["url"], r["concurrency"], ms(r["builtin"]["p50"]), ms(r["wrk"]["p50"]),
                  pct(rel(r["builtin"]["p50"], r["wrk"]["p50"])), ms(r["builtin"]["p99"]),
                  ms(r["wrk"]["p99"]), pct(rel(r["builtin"]["p99"], r["wrk"]["p99"])),
                  f"{r['builtin']['rps']:.0f}", f"{r['wrk']['rps']:.0f}",
                  f"{r['builtin']['client_cpu_ratio']:.0%}"
                  + (" saturated" if r["builtin"]["client_cpu_saturated"] else "")] for r in api_rows],
                ["target", "conns", "p50 ms built-in", "p50 ms wrk", "diff", "p99 ms built-in",
                 "p99 ms wrk", "diff", "req/s built-in", "req/s wrk", "client CPU"]))
    print()
    print(table([[r["op"], ms(r["builtin"]["p50"]), ms(r["redis-benchmark"]["p50"]),
                  f"{r['builtin']['ops']:.0f}", f"{r['redis-benchmark']['ops']:.0f}"] for r in redis_rows],
                ["command", "p50 ms built-in", "p50 ms redis-benchmark", "ops/s built-in",
                 "ops/s redis-benchmark"]))
    print()
    db, fio = disk["builtin"], disk["fio"]
    print(table([[k, f"{db[k] / (1e6 if 'bytes' in k else 1):.1f}", f"{fio[k] / (1e6 if 'bytes' in k else 1):.1f}",
                  pct(rel(db[k], fio[k]))] for k in db],
                ["figure (MB/s or IOPS)", "built-in", "fio", "diff"]))
    write_json("benchmark_compare", {"machine": machine_info(), "api": api_rows, "redis": redis_rows,
                                     "disk": disk})
    return 0


if __name__ == "__main__":
    sys.exit(main())
