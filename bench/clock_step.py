"""Wall-clock steps (issue 15.8). Usage:

    .venv/bin/python bench/clock_step.py hub [--no-repair]   # real Hub cycles on a fake clock
    .venv/bin/python bench/clock_step.py drop --series 10000 # cost of deleting future samples

``hub``: 30 cycles at 1 s, the wall clock one day ahead for 6 cycles (6 s), then back for 30
cycles; counts the cycles whose samples are stored after the return (``--no-repair`` turns the
hub's deletion of future samples off: the behaviour before the fix). ``drop``: a store with
``--series`` series × 61 cycles at 10 s plus 3 cycles a day ahead; the time of
``TieredStore.drop_after`` on the live store (head) and after a reopen (chunks). Each prints one
JSON line. Nothing here is a test: figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from autobot_monitor.clock import FakeClock  # noqa: E402
from autobot_monitor.config import load_config  # noqa: E402
from autobot_monitor.hub.service import Hub  # noqa: E402
from autobot_monitor.store import Series, TieredStore  # noqa: E402

T0 = 1_700_006_400.0
DAY = 86400.0


async def _hub_run(no_repair: bool) -> dict:
    d = tempfile.mkdtemp(prefix="clock-bench-")
    cfg = os.path.join(d, "c.yaml")
    with open(cfg, "w") as f:
        f.write("monitoring_interval: 1\ndashboard_enabled: false\n"
                "collectors: {enabled: [cpu, loadavg, memory, netdev]}\n")
    clock = FakeClock(T0)
    hub = Hub(load_config(cfg), os.path.join(d, "data"), cfg, clock=clock)
    await hub.start()
    if no_repair:
        async def off(now, when):
            return None
        hub._drop_future = off
    times: dict[str, list[float]] = {"before": [], "ahead": [], "after": []}
    cycle_s: list[float] = []
    try:
        for phase, n, shift in (("before", 30, 0.0), ("ahead", 6, DAY), ("after", 30, -DAY)):
            clock.set_wall(clock.time() + shift)
            for _ in range(n):
                clock.advance(1)
                t = time.perf_counter()
                times[phase].append((await hub.run_cycle()).timestamp)
                cycle_s.append(time.perf_counter() - t)
        series = hub.store.raw_samples("autobot_host_up", {"host": hub.local_name}, 0, T0 + 3 * DAY)
        stored = {t for s in series for t, _ in s.points}
        return {"bench": "clock_step_hub", "repair": not no_repair,
                "cycles": {k: len(v) for k, v in times.items()},
                "stored_after_return": sum(t in stored for t in times["after"]),
                "stored_before": sum(t in stored for t in times["before"]),
                "stored_ahead": sum(t in stored for t in times["ahead"]),
                "steps": hub.clock_steps.steps,
                "future_samples_deleted": hub.store.stats.future_dropped,
                "out_of_order_rejected": hub.store.stats.rejected["out_of_order"],
                "cycle_s_median": round(statistics.median(cycle_s), 4),
                "cycle_s_return": round(cycle_s[36], 4)}
    finally:
        await hub.close()


def _drop(args) -> dict:
    d = tempfile.mkdtemp(prefix="clock-bench-")
    path = os.path.join(d, "m.db")
    keys = [(f"bench_metric_{i % 50}", (("host", f"h{i % 20}"), ("i", str(i))))
            for i in range(args.series)]
    s = TieredStore(path)
    for c in range(61):
        s.write([Series(n, dict(lb), [(T0 + 10 * c, float(c))], "gauge") for n, lb in keys])
    for c in range(3):
        s.write([Series(n, dict(lb), [(T0 + DAY + 10 * c, float(c))], "gauge") for n, lb in keys])
    t = time.perf_counter()
    n_head = s.drop_after(T0 + 610)
    head_s = time.perf_counter() - t
    for c in range(3):
        s.write([Series(n, dict(lb), [(T0 + DAY + 10 * c, float(c))], "gauge") for n, lb in keys])
    s.close()  # the day-ahead samples go to chunks
    t = time.perf_counter()
    s = TieredStore(path)
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    n_chunks = s.drop_after(T0 + 610)
    chunk_s = time.perf_counter() - t
    s.close()
    return {"bench": "clock_step_drop", "series": args.series,
            "head": {"deleted": n_head, "seconds": round(head_s, 4)},
            "after_reopen": {"deleted": n_chunks, "seconds": round(chunk_s, 4),
                             "open_seconds": round(open_s, 4)}}


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hub")
    h.add_argument("--no-repair", action="store_true")
    dr = sub.add_parser("drop")
    dr.add_argument("--series", type=int, default=10000)
    a = p.parse_args()
    out = asyncio.run(_hub_run(a.no_repair)) if a.cmd == "hub" else _drop(a)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
