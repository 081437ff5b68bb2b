"""A real hub (default scrape limits) against one hostile target at a time: peak RSS of the hub,
cycle duration, ``up`` and the failure reason, and how long SIGTERM takes to end the hub.

The hostile target is tests/abuse/evil_target.py (endless chunked body, 64 MiB gzip bomb, 100k
series, 100 labels, hung). For each case one hub process (local host off, 10 s interval, default
5 s timeout, default 32 MiB body limit, 50,000 sample limit) runs ``--cycles`` cycles; RSS is
sampled every 0.2 s; then SIGTERM is sent while the target is being scraped.

    PYTHONPATH=src .venv/bin/python bench/scrape_abuse.py [--cases endless bomb many labels hung]
        [--cycles 3] [--json]

Do not run it against code without the limits on a shared machine: the endless body and the
bomb grow the hub by gigabytes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from common import Procs, free_port, machine_info, print_machine, table, wait_http, write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "abuse"))
from evil_target import EvilTarget  # noqa: E402


def run_case(procs: Procs, case: str, cycles: int, tmp: Path) -> list[object]:
    evil = EvilTarget()
    port = free_port()
    d = tmp / case
    d.mkdir()
    (d / "c.yaml").write_text(f"monitoring_interval: 10\nlocal_host: {{enabled: false}}\n"
                              "logging: {performance_jsonl: false}\n"
                              f"targets:\n  - {{job: {case}, url: '{evil.url('/' + case)}'}}\n")
    hub = procs.start(f"hub-{case}", [sys.executable, "-m", "autobot_monitor.cli", "start",
                                      "--config", str(d / "c.yaml"), "--data-dir",
                                      str(d / "data"), "--port", str(port)])
    try:
        wait_http(port, "/healthz", hub)
        ps, peak = psutil.Process(hub.pid), 0
        status = {}
        while int(status.get("cycles") or 0) < cycles:
            peak = max(peak, ps.memory_info().rss)
            status = httpx.get(f"http://127.0.0.1:{port}/api/system/status", timeout=30).json()
            time.sleep(0.2)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        up = next(ln.split()[-1] for ln in text.splitlines() if ln.startswith("up{"))
        reason = next((ln.split('reason="')[1].split('"')[0] for ln in text.splitlines()
                       if ln.startswith("autobot_scrape_failures_total{")), "-")
        cycle = next(ln.split()[-1] for ln in text.splitlines()
                     if ln.startswith("autobot_hub_cycle_duration_seconds "))
        n = len(evil.requests)
        while len(evil.requests) == n:  # SIGTERM as the next scrape goes out
            peak = max(peak, ps.memory_info().rss)
            time.sleep(0.05)
        t0 = time.monotonic()
        hub.send_signal(signal.SIGTERM)
        hub.wait(120)
        stop_s = time.monotonic() - t0
        return [case, f"{peak / 2**20:.0f}", f"{float(cycle):.2f}", up, reason, f"{stop_s:.1f}"]
    finally:
        procs.stop(hub)
        evil.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["endless", "bomb", "many", "labels", "hung"])
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    info = machine_info()
    print_machine(info)
    header = ["target", "hub peak RSS MiB", "cycle s", "up", "reason", "SIGTERM to exit s"]
    with tempfile.TemporaryDirectory() as tmp, Procs() as procs:
        rows = [run_case(procs, c, args.cycles, Path(tmp)) for c in args.cases]
    print(table(rows, header))
    if args.json:
        print(write_json("scrape_abuse", {"machine": info, "header": header, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
