"""Lost scrapes on a healthy network: real hubs scraping real loopback agents at several intervals.

For each interval (default 1, 2, 5, 10 and 15 s) one hub process (local host disabled) scrapes one
agent process (collecting every second, so it always has fresh bytes) on 127.0.0.1 for
``--cycles`` cycles (or ``--seconds``); all pairs run at the same time. Afterwards the hub's
stored raw ``up`` samples for its agent give the scrapes run and the lost ones (``up`` = 0). Nothing here is a timing: a scrape is lost or not.

Run it against any source tree by putting it first on the path, e.g. the code before a fix:

    PYTHONPATH=/path/to/old/src .venv/bin/python bench/scrape_loss.py
    PYTHONPATH=src .venv/bin/python bench/scrape_loss.py [--intervals 1 2 5 10 15] [--cycles 60]
        [--max-seconds 600] [--json]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import Procs, free_port, machine_info, print_machine, table, wait_http, write_json


def cli() -> list[str]:
    return [sys.executable, "-m", "autobot_monitor.cli"]


def start_pair(procs: Procs, interval: float, tmp: Path) -> dict:
    """An agent and a hub scraping it every ``interval`` seconds; returns ports and start time."""
    aport, hport = free_port(), free_port()
    agent = procs.start(f"agent-{interval:g}", [*cli(), "agent", "--listen", f"127.0.0.1:{aport}",
                                                "--interval", "1", "--log-level", "WARNING",
                                                "--name", f"a{interval:g}"])
    wait_http(aport, "/metrics", agent)
    d = tmp / f"hub-{interval:g}"
    d.mkdir()
    cfg = d / "config.yaml"
    cfg.write_text(f"monitoring_interval: {interval}\nlocal_host: {{enabled: false}}\n"
                   f"hosts:\n  - {{name: a{interval:g}, address: '127.0.0.1:{aport}'}}\n"
                   "logging: {performance_jsonl: false}\n")
    hub = procs.start(f"hub-{interval:g}", [*cli(), "start", "--config", str(cfg), "--data-dir",
                                            str(d / "data"), "--port", str(hport)])
    wait_http(hport, "/healthz", hub)
    return {"interval": interval, "hub_port": hport, "started": time.time(), "proc": hub}


def cycles_done(pair: dict) -> int:
    r = httpx.get(f"http://127.0.0.1:{pair['hub_port']}/api/system/status", timeout=10)
    return int(r.json().get("cycles") or 0)


def up_figures(pair: dict, end: float) -> tuple[int, int]:
    """(scrapes, lost scrapes) of the agent from the hub's stored raw ``up`` samples: a step of
    0.25 s holds at most one cycle (cycles are >= 1 s apart)."""
    r = httpx.get(f"http://127.0.0.1:{pair['hub_port']}/api/metrics/history",
                  params={"metric": "up", "start": str(pair["started"] - 5),
                          "end": str(end + 5), "step": "0.25", "fn": "min",
                          "match": "job=autobot-agent"}, timeout=30)
    r.raise_for_status()
    values = [v for s in r.json()["series"] for _, v in s["points"] if v is not None]
    return len(values), sum(1 for v in values if v < 1)


def failure_reasons(pair: dict) -> str:
    """``reason=count`` pairs from the hub's ``autobot_scrape_failures_total`` (code that has
    the counter), else "-"."""
    text = httpx.get(f"http://127.0.0.1:{pair['hub_port']}/metrics", timeout=30).text
    out = []
    for ln in text.splitlines():
        if ln.startswith("autobot_scrape_failures_total{"):
            reason = re.search(r'reason="([^"]*)"', ln)
            out.append(f"{reason.group(1) if reason else '?'}={float(ln.split()[-1]):g}")
    return ", ".join(out) or "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intervals", type=float, nargs="+", default=[1, 2, 5, 10, 15])
    ap.add_argument("--cycles", type=int, default=60, help="cycles per interval (capped by "
                                                           "--max-seconds)")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--json", action="store_true", help="also write bench/out/scrape_loss.json")
    args = ap.parse_args()
    info = machine_info()
    print_machine(info)
    rows, results = [], []
    with tempfile.TemporaryDirectory() as tmp, Procs() as procs:
        pairs = [start_pair(procs, i, Path(tmp)) for i in args.intervals]
        deadline = time.monotonic() + args.max_seconds
        pending = list(pairs)
        while pending and time.monotonic() < deadline:
            time.sleep(2)
            pending = [p for p in pending if cycles_done(p) < args.cycles + 1]
        end = time.time()
        for p in pairs:
            n, lost = up_figures(p, end)
            reasons = failure_reasons(p)
            results.append({"interval_s": p["interval"], "scrapes": n, "lost": lost,
                            "reasons": reasons})
            rows.append([f"{p['interval']:g} s", n, lost,
                         f"{100 * lost / n:.1f} %" if n else "-", reasons])
    print(table(rows, ["interval", "scrapes", "lost", "lost %", "reasons"]))
    total = sum(r["scrapes"] for r in results)
    lost = sum(r["lost"] for r in results)
    print(f"total: {lost} lost of {total} scrapes")
    if args.json:
        print(write_json("scrape_loss", {"machine": info, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
