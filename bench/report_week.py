"""Time to build a week report for six-VM-sized history (issue 11). Usage:

    .venv/bin/python bench/report_week.py [--interval 10] [--dir bench/out/report-data] [--reps 2]

Writes two weeks (the report week and the previous one, which trends compare against) of
synthetic history for the spec's deployment through the store API: 6 hosts (host_up, CPU,
memory, 2 filesystems, rx/tx on 2 interfaces, 10 processes x CPU and RSS) and 8 services (up,
response time), one sample per series every ``--interval`` seconds. The data dir is kept and
reused (delete it to regenerate). Then times ``autobot-monitor report --period START..END`` from
the data dir (a stopped hub) in JSON, HTML and PDF, each in a fresh process, and prints one JSON
line (also bench/out/report_week.json). Nothing here is a test: figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from autobot_monitor.config.models import MonitorConfig  # noqa: E402
from autobot_monitor.store import Series, open_store  # noqa: E402

HOSTS = ("main", "frontend", "npu-worker", "redis", "ai-stack", "browser")
SERVICES = ("backend-api", "ollama", "frontend", "npu-worker", "ai-stack", "browser", "redis", "redis-port")
WEEK = 7 * 86400


def lab(**kw) -> dict:
    return dict(sorted(kw.items()))


def generate(data_dir: str, end: float, interval: float) -> int:
    start = end - 2 * WEEK
    store = open_store(MonitorConfig().storage, data_dir)
    g, n, batch = "gauge", 0, []
    try:
        for k in range(int(2 * WEEK / interval)):
            t = start + k * interval + 1
            ph = 2 * math.pi * (t % 86400) / 86400
            for i, h in enumerate(HOSTS):
                batch += [
                    Series("autobot_host_up", lab(host=h, role="r", priority="high"),
                           [(t, 0.0 if k % 5000 == i else 1.0)], g),
                    Series("autobot_cpu_busy_percent", lab(host=h, cpu="all"),
                           [(t, 40 + 35 * math.sin(ph + i) + (k * 7 % 13))], g),
                    Series("autobot_memory_used_percent", lab(host=h), [(t, 50 + 10 * i + 0.00001 * k)], g)]
                for m, base in (("/", 40.0), ("/var/lib", 60.0)):
                    batch.append(Series("autobot_filesystem_used_percent",
                                        lab(host=h, mountpoint=m, device="sda1", fstype="ext4"),
                                        [(t, base + 0.00003 * k)], g))
                for dev in ("eth0", "eth1"):
                    batch += [Series("autobot_network_receive_bytes_per_second", lab(host=h, device=dev),
                                     [(t, 1e6 * (1 + math.sin(ph)))], g),
                              Series("autobot_network_transmit_bytes_per_second", lab(host=h, device=dev),
                                     [(t, 3e5 * (1 + math.cos(ph)))], g)]
                for p in range(10):
                    pl = lab(host=h, pid=str(1000 + p), name=f"proc-{p}")
                    batch += [Series("autobot_process_cpu_percent", pl, [(t, 5.0 * p)], g),
                              Series("autobot_process_resident_memory_bytes", pl, [(t, 2**20 * (p + 1))], g)]
            for j, s in enumerate(SERVICES):
                sl = lab(service=s, type="http", host=HOSTS[j % 6])
                batch += [Series("autobot_service_up", sl, [(t, 0.0 if k % 7000 < j else 1.0)], g),
                          Series("autobot_service_response_time_seconds", sl, [(t, 0.02 + 0.001 * j)], g)]
            if (t + interval) // 600 != t // 600:  # one write per store head window (600 s)
                n += store.write(batch)
                batch = []
        n += store.write(batch)
        store.enforce_retention(end)  # what a running hub does every 360 cycles: merges chunks
    finally:
        store.close()
    return n


def timed(args: list[str]) -> dict:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", *args], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return {"wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
            "max_rss_mib": round(after.ru_maxrss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--dir", default="bench/out/report-data")
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    stamp = os.path.join(a.dir, "end.json")
    if os.path.exists(stamp):
        with open(stamp) as f:
            meta = json.load(f)
    else:
        os.makedirs(a.dir, exist_ok=True)
        end = float(math.floor(time.time() / 86400) * 86400)
        t0 = time.perf_counter()
        n = generate(a.dir, end, a.interval)
        meta = {"end": end, "samples": n, "interval": a.interval,
                "generate_s": round(time.perf_counter() - t0, 1)}
        with open(stamp, "w") as f:
            json.dump(meta, f)
    end = meta["end"]
    period = f"{end - WEEK:.0f}..{end:.0f}"
    res = {"data": meta, "store_bytes": os.path.getsize(os.path.join(a.dir, "metrics.db"))}
    cfg = os.path.join(a.dir, "bench-config.yaml")
    with open(cfg, "w") as f:
        f.write(f"monitoring_interval: {a.interval:g}\n")
    for fmt in ("json", "html", "pdf"):
        runs = [timed(["report", "--period", period, "--format", fmt, "--out",
                       os.path.join("bench", "out", f"report-week.{fmt}"), "--data-dir", a.dir,
                       "--config", cfg]) for _ in range(a.reps)]
        res[fmt] = {"wall_s_min": min(r["wall_s"] for r in runs), "cpu_s_min": min(r["cpu_s"] for r in runs),
                    "max_rss_mib": max(r["max_rss_mib"] for r in runs),
                    "bytes": os.path.getsize(os.path.join("bench", "out", f"report-week.{fmt}"))}
    print(json.dumps(res))
    with open(os.path.join("bench", "out", "report_week.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
