#!/usr/bin/env python3
"""Catastrophic user regexes against a real hub (RE2 everywhere, issue 16): latency of
``match=host=~(.*.*)*X`` on /api/metrics/history and of /healthz meanwhile, the cycle rate
(``monitoring_interval: 1``) at rest, during those queries and with the most silences of evil
regexes the caps allow, the state file size, and the answer to an over-cap silence. The host name
is 56 characters, so a backtracking engine would never finish the pattern on it. Also the cost of
the pattern in Python's ``re`` (backtracking) against RE2 in-process.

    .venv/bin/python bench/regex_abuse.py [--window 10] [--queries 50] [--silences 25]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import Procs, agent_command, free_port, median, rss_mb, wait_http

EVIL = "(.*.*)*X"
HOST = "abuse-" + "a" * 50


def micro() -> None:
    from autobot_monitor.regex import full_match

    for n in range(8, 30):
        t = time.perf_counter()
        re.fullmatch(EVIL, "a" * n, re.S)
        dt = time.perf_counter() - t
        print(f"python re, {n} chars: {dt * 1000:.1f} ms")
        if dt > 1:
            break
    t = time.perf_counter()
    full_match(EVIL, "a" * 1_000_000)
    print(f"RE2, 1,000,000 chars: {(time.perf_counter() - t) * 1000:.1f} ms")


def rate(url: str, window: float) -> float:
    c0, t0 = httpx.get(url + "/api/system/status").json()["cycles"], time.monotonic()
    time.sleep(window)
    return (httpx.get(url + "/api/system/status").json()["cycles"] - c0) / (time.monotonic() - t0)


def healthz_at_rest(url: str, n: int = 50) -> None:
    lat = []
    with httpx.Client(timeout=30) as c:
        for _ in range(n):
            t = time.perf_counter()
            c.get(url + "/healthz")
            lat.append(time.perf_counter() - t)
            time.sleep(0.05)
    print(f"/healthz at rest: median {median(lat) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms")


def evil_queries(url: str, n: int, window: float) -> None:
    lat: list[float] = []
    codes: set[int] = set()

    def fire():
        with httpx.Client(timeout=120) as c:
            for _ in range(n):
                t = time.perf_counter()
                r = c.get(url + "/api/metrics/history", params={
                    "metric": "autobot_uptime_seconds", "start": "now-5m", "match": f"host=~{EVIL}"})
                lat.append(time.perf_counter() - t)
                codes.add(r.status_code)

    th = threading.Thread(target=fire)
    th.start()
    health: list[float] = []
    c0, t0 = httpx.get(url + "/api/system/status").json()["cycles"], time.monotonic()
    with httpx.Client(timeout=120) as c:
        while th.is_alive() or time.monotonic() - t0 < window:
            t = time.perf_counter()
            c.get(url + "/healthz")
            health.append(time.perf_counter() - t)
            time.sleep(0.05)
    th.join()
    cyc = (httpx.get(url + "/api/system/status").json()["cycles"] - c0) / (time.monotonic() - t0)
    print(f"history {EVIL}: {n} queries, HTTP {sorted(codes)}, median {median(lat) * 1000:.1f} ms, "
          f"max {max(lat) * 1000:.1f} ms")
    print(f"/healthz meanwhile: {len(health)} requests, median {median(health) * 1000:.1f} ms, "
          f"max {max(health) * 1000:.1f} ms; cycles/s {cyc:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--silences", type=int, default=25)
    a = ap.parse_args()
    micro()
    tmp = Path(tempfile.mkdtemp(prefix="regex-abuse-"))
    port = free_port()
    (tmp / "c.yaml").write_text(f"""
monitoring_interval: 1
dashboard_port: {port}
dashboard_enabled: false
local_host: {{name: {HOST}}}
collectors: {{disabled: [gpu, npu, sensors]}}
rules:
  - {{name: AlwaysUp, metric: autobot_uptime_seconds, threshold: 0, severity: low, category: system}}
""")
    url = f"http://127.0.0.1:{port}"
    with Procs(tmp / "logs") as procs:
        hub = procs.start("hub", [*agent_command(), "start", "--config", str(tmp / "c.yaml"),
                                  "--data-dir", str(tmp / "d")])
        wait_http(port, "/healthz", hub, 60)
        time.sleep(3)
        print(f"cycles/s at rest: {rate(url, a.window):.2f}")
        healthz_at_rest(url)
        evil_queries(url, a.queries, a.window)
        big = {"matchers": [f"l{i}=~{EVIL}" for i in range(20_000)], "duration": "1h"}
        r = httpx.post(url + "/api/silences", json=big, timeout=60)
        print(f"silence with 20,000 matchers: HTTP {r.status_code} {r.json().get('error', '')[:80]}")
        for _ in range(a.silences):  # the most matchers the caps allow, all evaluated: 31 that
            # match (a missing label is "") before the failing evil one on the 56-character host
            body = {"matchers": [f"l{i}=~(.*.*)*" for i in range(31)] + [f"host=~{EVIL}"],
                    "duration": "1h", "comment": "c" * 1000}
            assert httpx.post(url + "/api/silences", json=body, timeout=60).status_code == 201
        print(f"cycles/s with {a.silences} silences x 32 regex matchers: {rate(url, a.window):.2f}")
        state = tmp / "d" / "alerts_state.json"
        size = os.path.getsize(state) if state.exists() else None
        print(f"alerts_state.json: {size} bytes; hub RSS {rss_mb(hub.pid):.0f} MiB")


if __name__ == "__main__":
    main()
