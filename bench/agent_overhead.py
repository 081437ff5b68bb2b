"""Agent overhead: CPU (% of one core) and RSS of our agent vs prometheus-node-exporter.

Both run side by side in the same run. Phase 1: ``--duration`` seconds with no scrapes. Phase 2:
``--duration`` seconds with one scrape of each every ``--scrape-every`` seconds (as Prometheus
would). RSS is sampled every second; CPU is utime+stime from /proc over each phase, also per
10-second window (median and max reported). Target (issue 2): agent <= 1 % of one core and
<= 50 MB RSS.

    .venv/bin/python bench/agent_overhead.py [--duration 50] [--interval 1] [--scrape-every 15]
"""

from __future__ import annotations

import argparse
import sys
import time

from common import (
    CpuMeter,
    Procs,
    Scraper,
    machine_info,
    median,
    print_machine,
    ratio,
    rss_mb,
    start_agent,
    start_node_exporter,
    table,
    write_json,
)

TARGET_CPU_PCT = 1.0
TARGET_RSS_MB = 50.0
WINDOW_S = 10.0


def phase(pids: dict[str, int], duration: float, scrapers: dict[str, Scraper] | None,
          every: float) -> dict:
    rss: dict[str, list[float]] = {k: [] for k in pids}
    windows: dict[str, list[float]] = {k: [] for k in pids}
    whole = CpuMeter(pids).start()
    win = CpuMeter(pids).start()
    t0 = time.monotonic()
    next_scrape = t0
    next_sample = t0
    scrapes = 0
    while True:
        now = time.monotonic()
        if now - t0 >= duration:
            break
        if scrapers is not None and now >= next_scrape:
            for s in scrapers.values():
                s.get()
            scrapes += 1
            next_scrape += every
        if now >= next_sample:
            for k, p in pids.items():
                rss[k].append(rss_mb(p))
            next_sample += 1.0
        if now - win.t0 >= WINDOW_S:
            win.stop()
            for k in pids:
                windows[k].append(100 * win.cpu[k] / win.wall)
            win = CpuMeter(pids).start()
        time.sleep(max(0.0, min(next_sample, next_scrape if scrapers else next_sample,
                                t0 + duration) - time.monotonic()))
    whole.stop()
    for k, p in pids.items():
        rss[k].append(rss_mb(p))
    out = {"wall_s": whole.wall, "scrapes": scrapes}
    for k in pids:
        out[k] = {"cpu_s": whole.cpu[k], "cpu_pct_of_core": 100 * whole.cpu[k] / whole.wall,
                  "cpu_pct_10s_windows": windows[k],
                  "cpu_pct_10s_median": median(windows[k]),
                  "cpu_pct_10s_max": max(windows[k]) if windows[k] else float("nan"),
                  "rss_mb_max": max(rss[k]), "rss_mb_final": rss[k][-1],
                  "rss_mb_min": min(rss[k])}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=50.0, help="seconds per phase")
    ap.add_argument("--interval", type=float, default=1.0, help="agent --interval")
    ap.add_argument("--scrape-every", type=float, default=15.0, help="scrape period in phase 2")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after start, before phase 1")
    ap.add_argument("--out", default="agent_overhead", help="name of the JSON under bench/out/")
    args = ap.parse_args(argv)

    info = machine_info()
    print_machine(info)
    with Procs() as procs:
        agent, aport = start_agent(procs, args.interval)
        ne, nport = start_node_exporter(procs)
        pids = {"agent": agent.pid, "node_exporter": ne.pid}
        rss_start = {k: rss_mb(p) for k, p in pids.items()}
        time.sleep(args.settle)
        print(f"phase 1: {args.duration:.0f} s, no scrapes", flush=True)
        idle = phase(pids, args.duration, None, args.scrape_every)
        print(f"phase 2: {args.duration:.0f} s, one scrape each every {args.scrape_every:g} s",
              flush=True)
        scrapers = {"agent": Scraper(aport), "node_exporter": Scraper(nport)}
        try:
            scraped = phase(pids, args.duration, scrapers, args.scrape_every)
        finally:
            for s in scrapers.values():
                s.close()

    rows = []
    for name, ph in (("no scrapes", idle), (f"scrape/{args.scrape_every:g}s", scraped)):
        a, n = ph["agent"], ph["node_exporter"]
        rows.append([name, "agent", a["cpu_pct_of_core"], a["cpu_pct_10s_median"],
                     a["cpu_pct_10s_max"], a["rss_mb_max"], a["rss_mb_final"]])
        rows.append([name, "node_exporter", n["cpu_pct_of_core"], n["cpu_pct_10s_median"],
                     n["cpu_pct_10s_max"], n["rss_mb_max"], n["rss_mb_final"]])
        rows.append([name, "ratio agent/ne", ratio(a["cpu_pct_of_core"], n["cpu_pct_of_core"]),
                     "", "", ratio(a["rss_mb_max"], n["rss_mb_max"]),
                     ratio(a["rss_mb_final"], n["rss_mb_final"])])
    print()
    print(table(rows, ["phase", "process", "CPU %core", "10s med", "10s max", "RSS max MB",
                       "RSS final MB"]))
    cpu_ok = all(ph["agent"]["cpu_pct_of_core"] <= TARGET_CPU_PCT for ph in (idle, scraped))
    rss_ok = all(ph["agent"]["rss_mb_max"] <= TARGET_RSS_MB for ph in (idle, scraped))
    print(f"target: CPU <= {TARGET_CPU_PCT}% of one core: {'MET' if cpu_ok else 'MISSED'}; "
          f"RSS <= {TARGET_RSS_MB:.0f} MB: {'MET' if rss_ok else 'MISSED'}")
    path = write_json(args.out, {
        "benchmark": "agent_overhead", "machine": info, "args": vars(args),
        "rss_mb_at_start": rss_start, "no_scrapes": idle, "scraped": scraped,
        "target": {"cpu_pct_max": TARGET_CPU_PCT, "rss_mb_max": TARGET_RSS_MB,
                   "cpu_met": cpu_ok, "rss_met": rss_ok}})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
