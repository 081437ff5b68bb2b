#!/usr/bin/env python3
"""Alert noise on a real busy machine: transitions and notifications of the default rules.

Starts one hub per source tree given (``--hub NAME=SRC_DIR``, run with ``PYTHONPATH=SRC_DIR``),
all at once on this machine with the default rules and a 10 s cycle, each notifying its own path
of one real webhook receiver. CPU burners (one busy process per core) cycle on and off in phases
of 20-120 s drawn from a seeded generator, on top of whatever else loads the machine, so every
hub sees the same load. At the end it counts, per hub, state transitions (``GET
/api/alerts/history``: pending, firing, inactive, resolved) and notifications received by the
webhook (firing, resolved, flapping), by rule.

    .venv/bin/python bench/alert_noise.py --minutes 30 \\
        --hub before=/work/main/src --hub after=src [--interval 10] [--memory-near]

Writes ``bench/out/alert_noise.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from common import Procs, free_port, machine_info, table, write_json  # noqa: E402

BURN = "import time\nwhile True:\n    pass\n"


class Receiver:
    """Webhook receiver on 127.0.0.1: keeps every (path, alert status, rule) it is posted."""

    def __init__(self):
        self.items: list[tuple[str, str, str]] = []
        lock = threading.Lock()
        items = self.items

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                n = min(int(self.headers.get("Content-Length", 0)), 1 << 20)
                body = json.loads(self.rfile.read(n) or b"{}")
                with lock:
                    for a in body.get("alerts", []):
                        items.append((self.path.strip("/"), a["status"], a["rule"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def memory_used_percent() -> float:
    """(MemTotal - MemAvailable) / MemTotal * 100 now, as the hub's memory collector computes it."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            info[k] = float(v.split()[0])
    return 100 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]


def start_hub(procs: Procs, name: str, src: str, hook: str, interval: float, tmp: Path,
              thresholds: str) -> int:
    port = free_port()
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(f"monitoring_interval: {interval:g}\ndashboard_port: {port}\n"
                   f"dashboard_enabled: false\nlocal_host: {{name: busybox}}\n{thresholds}"
                   f"alerting:\n  channels:\n    - {{name: hook, type: webhook, url: \"{hook}\"}}\n")
    env_src = str(Path(src).resolve())
    argv = [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_src!r}); "
            "from autobot_monitor.cli import main; sys.exit(main())",
            "start", "--config", str(cfg), "--data-dir", str(tmp / f"{name}-data")]
    procs.start(f"noise-{name}", argv)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/system/status", timeout=3).json()["cycles"]:
                return port
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise TimeoutError(f"hub {name} did not finish a cycle in 120 s")


def burn_cycle(minutes: float, seed: int) -> list[list[float]]:
    """Run the burners in on/off phases until ``minutes`` have passed; returns the phases as
    ``[on_seconds, off_seconds]``."""
    rng = random.Random(seed)
    end = time.monotonic() + minutes * 60
    phases = []
    while time.monotonic() < end:
        on, off = rng.uniform(20, 120), rng.uniform(20, 120)
        burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(os.cpu_count() or 1)]
        try:
            time.sleep(max(0.0, min(on, end - time.monotonic())))
        finally:
            for b in burners:
                b.kill()
                b.wait()
        time.sleep(max(0.0, min(off, end - time.monotonic())))
        phases.append([round(on, 1), round(off, 1)])
    return phases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--hub", action="append", required=True, metavar="NAME=SRC_DIR")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--memory-near", action="store_true",
                    help="set alert_thresholds.memory_percent 0.2 points above the memory in use "
                         "at start, so the readings hover around it (a CPU pinned at 100 %% by "
                         "other load never crosses the CPU threshold)")
    args = ap.parse_args()
    hubs = dict(h.split("=", 1) for h in args.hub)
    rx = Receiver()
    mem = round(memory_used_percent() + 0.2, 1) if args.memory_near else None
    thresholds = f"alert_thresholds: {{memory_percent: {mem}}}\n" if mem else ""
    result: dict = {"machine": machine_info(), "minutes": args.minutes,
                    "interval_seconds": args.interval, "memory_threshold_percent": mem,
                    "hubs": {}}
    with Procs() as procs, tempfile.TemporaryDirectory() as tmp:
        ports = {n: start_hub(procs, n, src, f"{rx.url}/{n}", args.interval, Path(tmp), thresholds)
                 for n, src in hubs.items()}
        t0 = time.time()
        result["phases"] = burn_cycle(args.minutes, args.seed)
        result["elapsed_seconds"] = round(time.time() - t0, 1)
        time.sleep(args.interval * 2)  # last notifications reach the receiver
        for n, port in ports.items():
            hist = httpx.get(f"http://127.0.0.1:{port}/api/alerts/history",
                             params={"limit": 10000}, timeout=10).json()["transitions"]
            trans = [h for h in hist if h.get("rule")
                     and h.get("to") in ("pending", "firing", "inactive", "resolved")]
            notes = [(s, r) for p, s, r in rx.items if p == n]
            result["hubs"][n] = {
                "src": hubs[n], "transitions": len(trans),
                "transitions_by_kind": dict(Counter(f"{h['from']}->{h['to']}" for h in trans)),
                "transitions_by_rule": dict(Counter(h["rule"] for h in trans)),
                "notifications": len(notes), "notifications_by_kind": dict(Counter(s for s, _ in notes)),
                "notifications_by_rule": dict(Counter(r for _, r in notes))}
    path = write_json("alert_noise_memory" if mem else "alert_noise", result)
    rows = [[n, h["transitions"], h["notifications"], json.dumps(h["transitions_by_kind"]),
             json.dumps(h["notifications_by_kind"])] for n, h in result["hubs"].items()]
    print(table(rows, ["hub", "transitions", "notifications", "transitions by kind",
                       "notifications by kind"]))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
