"""Cost of gap-aware reads (issue 15): history steps with nulls for holes, and the hub's
coverage-aware 24 h availability, against the reads they replaced. Usage:

    .venv/bin/python bench/gaps_query.py [--hosts 20] [--repeat 20]

Builds a store with 24 h of ``autobot_host_up`` and a CPU gauge per host at 15 s, with a 12-minute
hole (hub stopped), then times per host (median of ``--repeat``): a 1 h history at 15 s steps
(raw tier) and a 24 h one at 60 s (1m tier), new path (:meth:`TieredStore.query`, holes as null)
and old path (the same buckets through :func:`codec.aggregate`, holes left out); the 24 h
availability (two 1m-tier queries, :func:`hub.service._availability`) and the old
``store.mean``. Prints one JSON line. Not a test: figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from autobot_monitor.report.availability import availability_24h as _availability  # noqa: E402
from autobot_monitor.store import Series, TieredStore, codec  # noqa: E402

T0 = 1_700_006_400.0
DAY = 86400
HOLE = (T0 + 43200, T0 + 43200 + 720)


def build(hosts: int) -> TieredStore:
    s = TieredStore(os.path.join(tempfile.mkdtemp(prefix="gaps-bench-"), "m.db"))
    for k in range(DAY // 15):
        t = T0 + 15 * k
        if HOLE[0] <= t < HOLE[1]:
            continue
        s.write([w for h in range(hosts) for w in (
            Series("autobot_host_up", {"host": f"h{h}"}, [(t, 1.0)], "gauge"),
            Series("g", {"host": f"h{h}"}, [(t, float(k % 100))], "gauge"))])
    return s


def med(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return round(statistics.median(out) * 1000, 3)


def old_query(s: TieredStore, host: str, start: float, end: float, step: float) -> list:
    tier = s.choose_tier(start, end, step)
    sel, _ = s._querier._select("g", [m for m in __import__("autobot_monitor.store.matchers", fromlist=["x"])
                             .to_matchers({"host": host})])
    return codec.aggregate(s._querier.buckets(sel[0], tier, int(start * 1000), int(end * 1000)),
                           int(start * 1000), int(step * 1000), "avg")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    t0 = time.perf_counter()
    s = build(a.hosts)
    built = time.perf_counter() - t0
    end = T0 + DAY - 1
    h1 = (HOLE[0] - 1800, HOLE[0] + 1800)
    pts = s.query("g", {"host": "h0"}, *h1, 15).series[0].points
    res = {
        "hosts": a.hosts, "build_seconds": round(built, 1),
        "hole_null_steps_1h_15s": sum(1 for _, v in pts if v is None),
        "history_1h_15s_ms": {"new": med(lambda: s.query("g", {"host": "h0"}, *h1, 15), a.repeat),
                              "old": med(lambda: old_query(s, "h0", *h1, 15), a.repeat)},
        "history_24h_60s_ms": {"new": med(lambda: s.query("g", {"host": "h0"}, T0, end, 60), a.repeat),
                               "old": med(lambda: old_query(s, "h0", T0, end, 60), a.repeat)},
        "availability_24h_per_host_ms": {
            "new": med(lambda: _availability(s, ("host", "h0"), end, 15.0), a.repeat),
            "old_mean": med(lambda: s.mean("autobot_host_up", {"host": "h0"}, end - DAY, end), a.repeat)},
        "availability_24h_h0": _availability(s, ("host", "h0"), end, 15.0),
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
