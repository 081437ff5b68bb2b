"""Agent CPU per second and per series vs prometheus-node-exporter at equal freshness.

node_exporter collects on every scrape; the agent collects every ``--interval`` seconds (1 by
default) and serves its last collection. Scraping both every ``--interval`` seconds gives both
one fresh reading per second: the cost that matters is CPU per second of wall time, and, since
the two expose different numbers of series, CPU per series.

One run starts node_exporter and one agent per ``--src`` checkout (its ``src/`` imported instead
of the installed package: e.g. ``--src /work/main --src .`` compares main's code with this
worktree's) at the same time, and a separate scraper process that GETs every target's /metrics
once per interval, all targets in the same second. CPU (utime+stime from /proc) of every target
is read over ``--reps`` windows of ``--duration`` seconds; all targets are measured over the same
windows, so the noise of a shared machine falls on all of them alike. Reported: CPU ms per
second (median of the windows, and pooled: total CPU / total wall), series (sample lines), CPU
microseconds per series per second, and the ratios against node_exporter.

    .venv/bin/python bench/agent_cost.py [--src PATH ...] [--duration 30] [--reps 3]
                                         [--interval 1] [--out agent_cost]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import (
    REPO,
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

GOAL_RATIO = 1.0  # issue 18: agent CPU/s <= node_exporter's with at least as many series


def scrape_loop(ports: list[int], interval: float) -> None:
    """The scraper process: every ``interval`` seconds (monotonic grid) one GET per port."""
    scrapers = [Scraper(p) for p in ports]
    due = time.monotonic()
    while True:
        for s in scrapers:
            s.get()
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", action="append", default=None, metavar="PATH",
                    help="checkout whose src/ an agent runs (repeatable; default: this one)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per window")
    ap.add_argument("--reps", type=int, default=3, help="windows")
    ap.add_argument("--interval", type=float, default=1.0,
                    help="agent --interval and scrape interval, seconds")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds scraped before measuring")
    ap.add_argument("--out", default="agent_cost", help="name of the JSON under bench/out/")
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--scrape-loop":
        scrape_loop([int(p) for p in sys.argv[2].split(",")], float(sys.argv[3]))
        return 0
    args = ap.parse_args(argv)
    srcs = [str(Path(s).resolve()) for s in (args.src or [str(REPO)])]
    info = machine_info()
    print_machine(info)
    names = ["node_exporter"] + [f"agent[{s}]" for s in srcs]
    with Procs() as procs:
        ne, nport = start_node_exporter(procs)
        pids, ports = {names[0]: ne.pid}, {names[0]: nport}
        for i, src in enumerate(srcs):
            p, port = start_agent(procs, args.interval, src=src, name=f"agent{i}")
            pids[names[i + 1]], ports[names[i + 1]] = p.pid, port
        series = {n: count_samples(Scraper(ports[n]).get()) for n in names}
        procs.start("scraper", [sys.executable, __file__, "--scrape-loop",
                                ",".join(str(ports[n]) for n in names), f"{args.interval:g}"])
        time.sleep(args.settle)
        series = {n: max(series[n], count_samples(Scraper(ports[n]).get())) for n in names}
        windows = []
        for r in range(args.reps):
            m = CpuMeter(pids).start()
            time.sleep(args.duration)
            m.stop()
            for p in procs.items:
                if p.poll() is not None:
                    raise RuntimeError(f"{p._bench_name} exited with {p.returncode}")  # type: ignore[attr-defined]
            windows.append({"wall_s": m.wall, "cpu_s": m.cpu})
            print(f"window {r + 1}/{args.reps}: " + ", ".join(
                f"{n} {1000 * m.cpu[n] / m.wall:.2f} ms/s" for n in names), flush=True)
    return report(args, info, names, series, windows)


def report(args: argparse.Namespace, info: dict, names: list[str], series: dict[str, int],
           windows: list[dict]) -> int:
    wall = sum(w["wall_s"] for w in windows)
    med = {n: median([1000 * w["cpu_s"][n] / w["wall_s"] for w in windows]) for n in names}
    pooled = {n: 1000 * sum(w["cpu_s"][n] for w in windows) / wall for n in names}
    ne = names[0]
    rows, figures = [], {}
    for n in names:
        per_series = 1000 * pooled[n] / series[n] if series[n] else None  # us per series per s
        figures[n] = {"series": series[n], "cpu_ms_per_s_median": med[n],
                      "cpu_ms_per_s_pooled": pooled[n], "cpu_us_per_series_per_s": per_series,
                      "ratio_cpu_vs_ne": ratio(pooled[n], pooled[ne]),
                      "ratio_per_series_vs_ne": ratio(pooled[n] / series[n],
                                                      pooled[ne] / series[ne])}
        rows.append([n, series[n], med[n], pooled[n], per_series,
                     figures[n]["ratio_cpu_vs_ne"], figures[n]["ratio_per_series_vs_ne"]])
    print()
    print(table(rows, ["target", "series", "median ms/s", "pooled ms/s", "us/series/s",
                       "CPU x ne", "per series x ne"]))
    print(f"goal (issue 18): agent CPU/s <= {GOAL_RATIO}x node_exporter's with at least as many "
          "series (per-series ratio <= 0.5 for the merge)")
    path = write_json(args.out, {"benchmark": "agent_cost", "machine": info, "args": vars(args),
                                 "targets": figures, "windows": windows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
