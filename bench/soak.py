"""Soak (issue 9): a hub at a 1 s interval for N minutes, scraping an agent and checking and
mirroring to a redis-server, with a dashboard-like client polling the API; the hub's RSS and open
file descriptors are sampled every 10 s, and the cycle duration (autobot_hub_cycle_duration_seconds)
is read each second.

Pass: RSS and fds flat after warm-up (growth reported as last-minute median minus first-minute
median after a 60 s warm-up), and no cycle longer than the interval.

    .venv/bin/python bench/soak.py [--minutes 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import CliProcess, RedisServer, free_port, wait_http  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds excluded from growth")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="autobot-soak-"))
    redis = RedisServer()
    aport, hport = free_port(), free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{aport}", "--interval", "1"])
    cfg = tmp / "soak.yaml"
    cfg.write_text(f"""monitoring_interval: 1
dashboard_port: {hport}
hosts: [{{name: agent1, address: "127.0.0.1:{aport}"}}]
services: [{{name: cache, type: redis, address: "{redis.address}", timeout: 1}}]
storage: {{redis: {{address: "{redis.address}"}}}}
""")
    hub = CliProcess(["start", "--config", str(cfg), "--data-dir", str(tmp / "data")])
    url = f"http://127.0.0.1:{hport}"
    try:
        wait_http(url + "/api/system/status", 60, lambda r: r.json()["cycles"] >= 2)
        p = psutil.Process(hub.proc.pid)
        t0 = time.monotonic()
        samples, cycle_s, max_cycle, errors = [], [], 0.0, 0
        next_sample = t0
        with httpx.Client(timeout=5) as c:
            while time.monotonic() - t0 < a.minutes * 60:
                try:
                    c.get(url + "/api/metrics/current").raise_for_status()
                    for ln in c.get(url + "/metrics").text.splitlines():
                        if ln.startswith("autobot_hub_cycle_duration_seconds"):
                            v = float(ln.split()[-1])
                            cycle_s.append(v)
                            max_cycle = max(max_cycle, v)
                except httpx.HTTPError:
                    errors += 1
                if time.monotonic() >= next_sample:
                    samples.append((time.monotonic() - t0, p.memory_info().rss, p.num_fds()))
                    next_sample += 10
                time.sleep(1)
        st = httpx.get(url + "/api/system/status", timeout=5).json()
        cycles = st["cycles"]
        span = time.monotonic() - t0
    finally:
        hub.stop()
        agent.stop()
        redis.stop()
    after = [s for s in samples if s[0] >= a.warmup]
    first = [s for s in after if s[0] < a.warmup + 60]
    last = [s for s in after if s[0] >= samples[-1][0] - 60]
    med = lambda xs, i: statistics.median(x[i] for x in xs) if xs else None  # noqa: E731
    out = {
        "minutes": a.minutes, "interval_s": 1, "cycles": cycles, "span_s": round(span, 1),
        "rss_start_mib": round(samples[0][1] / 2**20, 1),
        "rss_after_warmup_mib": round(med(first, 1) / 2**20, 1) if first else None,
        "rss_end_mib": round(med(last, 1) / 2**20, 1) if last else None,
        "rss_growth_after_warmup_mib": round((med(last, 1) - med(first, 1)) / 2**20, 2)
        if first and last else None,
        "fds_start": samples[0][2], "fds_end": samples[-1][2], "fds_max": max(s[2] for s in samples),
        "cycle_p50_s": round(statistics.median(cycle_s), 4) if cycle_s else None,
        "cycle_max_s": round(max_cycle, 4) if cycle_s else None,
        "cycles_over_interval": sum(1 for v in cycle_s if v > 1.0),
        "api_errors": errors,
    }
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:30s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
