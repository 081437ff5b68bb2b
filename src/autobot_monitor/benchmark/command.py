"""``autobot-monitor benchmark {comprehensive,api,database,network,system}``.

Services come from the config (``--config``, else ./monitoring_config.yaml, else none): http
services for api (or ``--url``), redis services with their ``databases`` for database, ``hosts``
for network. Results go to ``<data-dir>/<logging.dir>/benchmarks/`` and, when the data dir holds
a hub store, ``autobot_performance_score`` samples go into it. Exit codes: 0 ok, 1 runtime
failure, 2 bad usage or config, 130 interrupted (Redis keys are removed first).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

KINDS = ("comprehensive", "api", "database", "network", "system")


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib").rstrip("b")
    try:
        return int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected a size like 256M, got {text!r}") from None


def add_parser(sub) -> None:
    """Add the ``benchmark`` subcommand to the CLI's subparsers ``sub``."""
    s = sub.add_parser("benchmark", help="benchmark the API, Redis, network and this host; "
                       "scores and grades against the spec's baselines")
    s.add_argument("type", choices=KINDS)
    s.add_argument("--duration", type=float, default=60.0, help="seconds for the whole run (default 60)")
    s.add_argument("--concurrency", type=int, default=10, help="API connections (default 10)")
    s.add_argument("--rate", type=float, help="open-loop API requests/s (default: half the "
                   "closed-loop throughput)")
    s.add_argument("--url", help="benchmark this URL instead of the config's http services")
    s.add_argument("--db", type=int, action="append", help="Redis db index (repeatable; must be "
                   "in the service's config; default: all configured)")
    s.add_argument("--config", help="YAML config (default ./monitoring_config.yaml if present)")
    s.add_argument("--data-dir", default=os.environ.get("AUTOBOT_MONITOR_DATA_DIR", "data"))
    s.add_argument("--scratch-dir", help="disk benchmark directory (default <data-dir>/bench-scratch)")
    s.add_argument("--disk-size", type=_size, default=256 << 20,
                   help="disk benchmark file size cap (default 256M)")
    s.add_argument("--engine", choices=("builtin", "native"), default="builtin",
                   help="native: wrk / redis-benchmark / fio where installed")
    s.add_argument("--json", action="store_true", help="print the result document as JSON")
    s.add_argument("--compare", action="store_true", help="compare with the previous and baseline runs")
    s.add_argument("--set-baseline", action="store_true", help="make this run the baseline of its type")
    s.add_argument("--no-save", action="store_true", help="do not write the result to history")
    s.set_defaults(func=cmd_benchmark)


def _raise_interrupt(_sig, _frame) -> None:
    raise KeyboardInterrupt


def cmd_benchmark(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..config.loader import find_default_config, load_config
    from ..errors import BenchmarkError, ConfigError
    from . import report, suite

    try:
        path = args.config or find_default_config()
        cfg = load_config(path)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    data_dir = os.path.abspath(args.data_dir)
    opts = suite.Options(duration=args.duration, concurrency=args.concurrency, rate=args.rate,
                         url=args.url, engine=args.engine, dbs=args.db,
                         scratch_dir=args.scratch_dir or os.path.join(data_dir, "bench-scratch"),
                         disk_bytes=args.disk_size)
    console = Console(stderr=args.json)
    if not console.is_terminal:
        console.width = max(console.width, 140)
    old = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM cleans up like Ctrl-C
    try:
        with report.live_progress(console, console.is_terminal) as progress:
            result = suite.run(args.type, cfg, opts, progress)
    except BenchmarkError as e:
        print(f"autobot-monitor: benchmark: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autobot-monitor: benchmark interrupted; benchmark keys and files removed",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    comparison, notes = _record(args, cfg, data_dir, result)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        report.render(result, console, comparison if args.compare else None)
    for n in notes:
        print(n, file=sys.stderr)
    return 0


def _record(args: argparse.Namespace, cfg: Any, data_dir: str,
            result: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Compare ``result`` with the previous run and the baseline (``--compare``: sets
    ``result["comparison"]``), save it unless ``--no-save`` (and make it the baseline with
    ``--set-baseline``), and write its scores into the data dir's store when one is there.
    Returns ``(comparison or None, notes for stderr)``; raises ``OSError`` when saving fails."""
    from ..errors import StoreError
    from . import history

    bdir = history.bench_dir(data_dir, cfg.logging.dir)
    comparison = None
    if args.compare:
        prev, base = history.previous_and_baseline(bdir, args.type)
        comparison = {label: {"path": p[0], "rows": history.compare(p[1], result)}
                      for label, p in (("previous", prev), ("baseline", base)) if p}
        result["comparison"] = comparison
    notes = []
    if not args.no_save:
        saved = history.save(result, bdir)
        notes.append(f"saved {saved}")
        if args.set_baseline:
            notes.append(f"baseline {history.set_baseline(result, bdir)}")
    store_path = cfg.storage.path if os.path.isabs(cfg.storage.path) else os.path.join(
        data_dir, cfg.storage.path)
    if os.path.exists(store_path):  # a hub's data dir: its store gets the scores too
        try:
            n = history.store_scores(result, cfg.storage, data_dir)
            notes.append(f"{n} autobot_performance_score sample(s) written to {store_path}")
        except StoreError as e:
            notes.append(f"scores not stored: {e}")
    return comparison, notes
