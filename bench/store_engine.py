"""Benchmarks of the embedded store (issue 3). Usage:

    .venv/bin/python bench/store_engine.py ingest   # samples/s through TieredStore.write
    .venv/bin/python bench/store_engine.py query    # 24 h and 7 d of one 1 s series -> <=1000 points
    .venv/bin/python bench/store_engine.py memory   # RSS for 50,000 active series
    .venv/bin/python bench/store_engine.py bytes --seconds 600   # bytes/sample, real local series at 1 s

Each prints one JSON line. Nothing here is a test: figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

import numpy as np
import psutil

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from autobot_monitor.store import Series, TieredStore  # noqa: E402

T0 = 1_700_006_400.0


def _series(n: int) -> list[tuple[str, tuple]]:
    return [(f"bench_metric_{i % 50}", (("host", f"h{i % 20}"), ("i", str(i)))) for i in range(n)]


def ingest(args) -> dict:
    """``--series`` series written once per cycle (one write = one fsync'd WAL record), for
    ``--cycles`` cycles at 10 s spacing; head flushes included (every 60 cycles)."""
    d = tempfile.mkdtemp(prefix="store-bench-")
    s = TieredStore(os.path.join(d, "m.db"))
    keys = _series(args.series)
    rng = np.random.default_rng(1)
    batches = []
    for c in range(args.cycles):
        vals = rng.random(len(keys)).round(2).tolist()
        batches.append([Series(n, dict(lab), [(T0 + 10 * c, v)], "gauge")
                        for (n, lab), v in zip(keys, vals, strict=True)])
    cpu0, t0 = time.process_time(), time.perf_counter()
    for b in batches:
        s.write(b)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = args.series * args.cycles
    s.close()
    return {"bench": "ingest", "series": args.series, "cycles": args.cycles, "samples": n,
            "wall_s": round(wall, 3), "samples_per_s_wall": round(n / wall),
            "samples_per_s_cpu": round(n / cpu), "flushes": s.stats.flushes}


def query(args) -> dict:
    """One gauge and one counter at 1 s for 7 days (written 1 h per batch), then median of 20
    range queries each: 24 h and 7 d to <= 1000 points (step = range / 1000)."""
    d = tempfile.mkdtemp(prefix="store-bench-")
    s = TieredStore(os.path.join(d, "m.db"))
    rng = np.random.default_rng(2)
    days = 7
    for h in range(24 * days):
        ts = T0 + h * 3600 + np.arange(3600)
        g = (50 + 10 * np.sin(ts / 3000) + rng.normal(0, 1, 3600)).round(1)
        c = np.cumsum(rng.integers(0, 1000, 3600)) + h * 3600 * 1000
        s.write([Series("g", {"host": "a"}, [(float(t), float(v))], "gauge") for t, v in zip(ts, g, strict=True)]
                + [Series("c_total", {"host": "a"}, [(float(t), float(v))], "counter")
                   for t, v in zip(ts, c, strict=True)])
    s.flush()
    s.enforce_retention(T0 + days * 86400)
    end = T0 + days * 86400 - 1
    out = {"bench": "query", "disk_bytes": os.path.getsize(os.path.join(d, "m.db"))}
    for label, rng_s in (("24h", 86400), ("7d", days * 86400)):
        for name, fn in (("g", None), ("c_total", "rate")):
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                r = s.query(name, {"host": "a"}, end - rng_s, end, rng_s / 1000, fn=fn)
                times.append(time.perf_counter() - t0)
            out[f"{label}_{name}_{fn or 'default'}"] = {
                "tier": r.tier, "points": len(r.series[0].points),
                "median_ms": round(1000 * float(np.median(times)), 2), "max_ms": round(1000 * max(times), 2)}
    return out


def memory(args) -> dict:
    """RSS of this process before and after ``--series`` series written for ``--cycles`` cycles
    (the head holds up to one 10-minute window: 60 samples per series at 10 s)."""
    proc = psutil.Process()
    keys = _series(args.series)
    d = tempfile.mkdtemp(prefix="store-bench-")
    rss0 = proc.memory_info().rss
    s = TieredStore(os.path.join(d, "m.db"))
    peak = 0
    for c in range(args.cycles):
        s.write([Series(n, dict(lab), [(T0 + 10 * c, float(c % 7))], "gauge") for n, lab in keys])
        peak = max(peak, proc.memory_info().rss)
    rss1 = proc.memory_info().rss
    s.close()
    return {"bench": "memory", "series": args.series, "cycles": args.cycles,
            "rss_before_mb": round(rss0 / 2**20, 1), "rss_after_mb": round(rss1 / 2**20, 1),
            "rss_peak_mb": round(peak / 2**20, 1), "store_delta_peak_mb": round((peak - rss0) / 2**20, 1)}


def bytes_per_sample(args) -> dict:
    """The hub's own local collectors at 1 s for ``--seconds`` s, stored exactly as the hub
    stores them; chunk bytes (after merging) / samples."""
    from autobot_monitor.collectors import build
    from autobot_monitor.collectors.base import CollectorContext
    from autobot_monitor.collectors.runner import CollectorRunner

    runner = CollectorRunner(build(CollectorContext(), None, []), timeout=5)
    d = tempfile.mkdtemp(prefix="store-bench-")
    s = TieredStore(os.path.join(d, "m.db"))
    n = 0

    async def run():
        nonlocal n
        await runner.run()
        nxt = time.monotonic() + 1
        for _ in range(args.seconds):
            await asyncio.sleep(max(0, nxt - time.monotonic()))
            nxt += 1
            fams, _ = await runner.run()
            now = time.time()
            n += s.write([Series(x.name, dict(x.labels), [(now, x.value)], f.type)
                          for f in fams for x in f.samples])

    asyncio.run(run())
    runner.close()
    s.flush()
    s.enforce_retention(time.time() + 3 * 3600)  # merge the closed raw windows into 2 h chunks
    tier_bytes = dict(zip((t.name for t in s.tiers), s._tier_bytes, strict=True))
    series = len(s.series())
    s.close()
    db = os.path.getsize(os.path.join(d, "m.db"))
    return {"bench": "bytes", "seconds": args.seconds, "series": series, "samples": n,
            "raw_chunk_bytes_per_sample": round(tier_bytes["raw"] / n, 3),
            "all_tiers_chunk_bytes_per_sample": round(sum(tier_bytes.values()) / n, 3),
            "sqlite_file_bytes_per_sample": round(db / n, 3), "tier_bytes": tier_bytes}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["ingest", "query", "memory", "bytes"])
    p.add_argument("--series", type=int, default=None)
    p.add_argument("--cycles", type=int, default=None)
    p.add_argument("--seconds", type=int, default=600)
    a = p.parse_args()
    defaults = {"ingest": (10_000, 120), "memory": (50_000, 61)}
    if a.what in defaults:
        a.series = a.series or defaults[a.what][0]
        a.cycles = a.cycles or defaults[a.what][1]
    print(json.dumps({"ingest": ingest, "query": query, "memory": memory, "bytes": bytes_per_sample}[a.what](a)))


if __name__ == "__main__":
    main()
