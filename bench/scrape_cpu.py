"""CPU per /metrics scrape: our agent vs prometheus-node-exporter, same machine, same run.

The two exporters work differently, so several figures are reported:

* node_exporter collects on every scrape: its cost of one fresh reading is its CPU per scrape.
* our agent collects every ``--interval`` seconds in the background and serves cached bytes, so
  (a) "CPU per scrape, whole window" = agent CPU over a burst of back-to-back scrapes / scrapes
      (includes whatever background collection fell into the window; depends on scrape rate),
  (b) "collection + render per cycle" = agent CPU over an idle window (no scrapes) / cycles,
  (c) "serve per scrape" = (CPU over the scrape window - idle CPU rate x window) / scrapes,
  and the like-for-like "fresh reading" cost = (b) + (c), compared with node_exporter's per
  scrape CPU. The target (issue 2) is ours <= 0.5x node_exporter.

Each repetition runs an idle window and one scrape burst per exporter (order alternates);
medians over repetitions and pooled figures (sum CPU / sum scrapes) are reported.

    .venv/bin/python bench/scrape_cpu.py [--scrapes 200] [--idle 10] [--reps 3] [--gzip]
"""

from __future__ import annotations

import argparse
import sys
import time

from common import (
    CpuMeter,
    Procs,
    Scraper,
    count_samples,
    machine_info,
    median,
    print_machine,
    ratio,
    start_agent,
    start_node_exporter,
    table,
    write_json,
)

TARGET_RATIO = 0.5


def burst(scraper: Scraper, n: int, pids: dict[str, int]) -> CpuMeter:
    m = CpuMeter(pids).start()
    for _ in range(n):
        scraper.get()
    return m.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scrapes", type=int, default=200, help="scrapes per burst per exporter")
    ap.add_argument("--idle", "--duration", dest="idle", type=float, default=10.0,
                    help="idle window per repetition, seconds (no scrapes)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions")
    ap.add_argument("--interval", type=float, default=1.0, help="agent --interval")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up scrapes per exporter")
    ap.add_argument("--gzip", action="store_true",
                    help="send Accept-Encoding: gzip (as Prometheus does); default identity")
    ap.add_argument("--out", default="scrape_cpu", help="name of the JSON under bench/out/")
    args = ap.parse_args(argv)

    info = machine_info()
    print_machine(info)
    reps = []
    with Procs() as procs:
        agent, aport = start_agent(procs, args.interval)
        ne, nport = start_node_exporter(procs)
        pids = {"agent": agent.pid, "node_exporter": ne.pid}
        sa = Scraper(aport, gzip=args.gzip)
        sn = Scraper(nport, gzip=args.gzip)
        try:
            for _ in range(args.warmup):
                sa.get()
                sn.get()
            time.sleep(max(2.0, 2 * args.interval))  # let the agent run a few cycles
            a_plain = Scraper(aport).get()
            n_plain = Scraper(nport).get()
            series = {"agent": count_samples(a_plain), "node_exporter": count_samples(n_plain)}
            sizes = {"agent": len(a_plain), "node_exporter": len(n_plain)}
            enc = {"agent": sa.last_headers.get("content-encoding", "identity"),
                   "node_exporter": sn.last_headers.get("content-encoding", "identity")}
            for r in range(args.reps):
                idle = CpuMeter(pids).start()
                time.sleep(args.idle)
                idle.stop()
                order = [("agent", sa), ("node_exporter", sn)]
                if r % 2:
                    order.reverse()
                bursts = {name: burst(s, args.scrapes, pids) for name, s in order}
                rate = {k: idle.cpu[k] / idle.wall for k in pids}  # CPU s per s, idle
                ab, nb = bursts["agent"], bursts["node_exporter"]
                cycles = idle.wall / args.interval
                rep = {
                    "idle_wall_s": idle.wall, "idle_cpu_s": idle.cpu,
                    "agent_burst_wall_s": ab.wall, "agent_burst_cpu_s": ab.cpu["agent"],
                    "ne_burst_wall_s": nb.wall, "ne_burst_cpu_s": nb.cpu["node_exporter"],
                    "agent_scrape_rate_per_s": args.scrapes / ab.wall,
                    "ne_scrape_rate_per_s": args.scrapes / nb.wall,
                    # figures, milliseconds of CPU
                    "agent_ms_per_scrape_window": 1000 * ab.cpu["agent"] / args.scrapes,
                    "agent_ms_per_cycle_idle": 1000 * idle.cpu["agent"] / cycles,
                    "agent_ms_serve_per_scrape": 1000 * max(0.0, ab.cpu["agent"]
                                                            - rate["agent"] * ab.wall) / args.scrapes,
                    "ne_ms_per_scrape": 1000 * nb.cpu["node_exporter"] / args.scrapes,
                    "ne_ms_idle_per_s": 1000 * rate["node_exporter"],
                }
                rep["agent_ms_fresh_reading"] = (rep["agent_ms_per_cycle_idle"]
                                                 + rep["agent_ms_serve_per_scrape"])
                reps.append(rep)
                print(f"rep {r + 1}/{args.reps}: agent window {rep['agent_ms_per_scrape_window']:.3f}"
                      f" ms/scrape, cycle {rep['agent_ms_per_cycle_idle']:.2f} ms, serve "
                      f"{rep['agent_ms_serve_per_scrape']:.3f} ms; node_exporter "
                      f"{rep['ne_ms_per_scrape']:.2f} ms/scrape", flush=True)
        finally:
            sa.close()
            sn.close()

    def med(k: str) -> float:
        return median([r[k] for r in reps])

    # pooled figures: total CPU over total scrapes / cycles (less tick-quantisation noise)
    tot_idle_wall = sum(r["idle_wall_s"] for r in reps)
    a_idle = sum(r["idle_cpu_s"]["agent"] for r in reps)
    n_scr = args.scrapes * len(reps)
    a_burst = sum(r["agent_burst_cpu_s"] for r in reps)
    a_burst_wall = sum(r["agent_burst_wall_s"] for r in reps)
    pooled = {
        "agent_ms_per_scrape_window": 1000 * a_burst / n_scr,
        "agent_ms_per_cycle_idle": 1000 * a_idle / (tot_idle_wall / args.interval),
        "agent_ms_serve_per_scrape": 1000 * max(0.0, a_burst - a_idle / tot_idle_wall
                                                * a_burst_wall) / n_scr,
        "ne_ms_per_scrape": 1000 * sum(r["ne_burst_cpu_s"] for r in reps) / n_scr,
    }
    pooled["agent_ms_fresh_reading"] = (pooled["agent_ms_per_cycle_idle"]
                                        + pooled["agent_ms_serve_per_scrape"])
    summary = {k: med(k) for k in ("agent_ms_per_scrape_window", "agent_ms_per_cycle_idle",
                                   "agent_ms_serve_per_scrape", "agent_ms_fresh_reading",
                                   "ne_ms_per_scrape", "agent_scrape_rate_per_s",
                                   "ne_scrape_rate_per_s")}
    ne_ms = summary["ne_ms_per_scrape"]
    ratios = {
        "fresh_reading_vs_ne": ratio(summary["agent_ms_fresh_reading"], ne_ms),
        "window_per_scrape_vs_ne": ratio(summary["agent_ms_per_scrape_window"], ne_ms),
        "pooled_fresh_reading_vs_ne": ratio(pooled["agent_ms_fresh_reading"],
                                            pooled["ne_ms_per_scrape"]),
        "per_series_fresh_reading_vs_ne": ratio(
            summary["agent_ms_fresh_reading"] / series["agent"], ne_ms / series["node_exporter"]),
    }
    met = ratios["fresh_reading_vs_ne"] <= TARGET_RATIO

    print()
    print(f"series: agent {series['agent']} ({sizes['agent']} B), node_exporter "
          f"{series['node_exporter']} ({sizes['node_exporter']} B); encoding {enc}")
    rows = [
        ["agent (a) per scrape, whole window", summary["agent_ms_per_scrape_window"],
         pooled["agent_ms_per_scrape_window"],
         1000 * summary["agent_ms_per_scrape_window"] / series["agent"],
         ratios["window_per_scrape_vs_ne"]],
        ["agent (b) collection+render per cycle", summary["agent_ms_per_cycle_idle"],
         pooled["agent_ms_per_cycle_idle"],
         1000 * summary["agent_ms_per_cycle_idle"] / series["agent"], ""],
        ["agent (c) serve per scrape", summary["agent_ms_serve_per_scrape"],
         pooled["agent_ms_serve_per_scrape"],
         1000 * summary["agent_ms_serve_per_scrape"] / series["agent"], ""],
        ["agent fresh reading (b)+(c)", summary["agent_ms_fresh_reading"],
         pooled["agent_ms_fresh_reading"],
         1000 * summary["agent_ms_fresh_reading"] / series["agent"],
         ratios["fresh_reading_vs_ne"]],
        ["node_exporter per scrape", ne_ms, pooled["ne_ms_per_scrape"],
         1000 * ne_ms / series["node_exporter"], 1.0],
    ]
    print(table(rows, ["CPU", "median ms", "pooled ms", "us/series", "x node_exporter"]))
    print(f"scrape rate: agent {summary['agent_scrape_rate_per_s']:.0f}/s, node_exporter "
          f"{summary['ne_scrape_rate_per_s']:.0f}/s; per-series fresh-reading ratio "
          f"{ratios['per_series_fresh_reading_vs_ne']:.2f}")
    print(f"target: fresh reading <= {TARGET_RATIO}x node_exporter -> "
          f"{ratios['fresh_reading_vs_ne']:.2f}x: {'MET' if met else 'MISSED'}")
    path = write_json(args.out, {
        "benchmark": "scrape_cpu", "machine": info, "args": vars(args),
        "series": series, "bytes": sizes, "content_encoding": enc,
        "median": summary, "pooled": pooled, "ratios": ratios,
        "target": {"fresh_reading_vs_ne_max": TARGET_RATIO, "met": met}, "reps": reps})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
