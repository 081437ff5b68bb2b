"""``autobot-monitor report``: build a report and write it as HTML, JSON or PDF.

Where the data comes from: ``--url`` reads a running hub's API (history, alert transitions);
otherwise the store in ``--data-dir`` is opened directly, and when a running hub holds it (the
store's file lock) the report reads through that hub's API instead (``$AUTOBOT_MONITOR_URL`` or
the config's ``dashboard_host:dashboard_port``). Alerts log, optimizer log and benchmark runs are
always read from the data dir's files (when the directory exists). Exit codes: 0 written,
1 data unavailable (no store, hub unreachable), 2 bad usage (period, format).
"""

from __future__ import annotations

import os
import sys
import time

from ..cmdline import fail


def make_report(args, now: float):
    """(Report, None) or (None, exit code) after printing why."""
    from ..config.loader import find_default_config, load_config
    from ..errors import ConfigError, QueryError, StoreError
    from ..store.factory import open_store, resolve_path
    from .build import build_report
    from .period import parse_period
    from .source import DataFiles, HttpSource, StoreSource

    try:
        cfg = load_config(args.config or find_default_config())
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return None, 2
    try:
        period = parse_period(args.period, now)
    except QueryError as e:
        return None, fail(str(e), 2)
    data_dir = os.path.abspath(args.data_dir)
    files = DataFiles(data_dir if os.path.isdir(data_dir) else None, cfg.logging.dir)
    url = args.url
    store = None
    if url is None:
        if cfg.storage.backend == "embedded" and not os.path.exists(resolve_path(cfg.storage, data_dir)):
            return None, fail(f"no store in {data_dir} (pass --data-dir or --url)", 1)
        try:
            store = open_store(cfg.storage, data_dir)
        except StoreError as e:
            if "in use" not in str(e):
                return None, fail(str(e), 1)
            url = os.environ.get("AUTOBOT_MONITOR_URL") or \
                f"http://{cfg.dashboard_host}:{cfg.dashboard_port}"
            print(f"autobot-monitor: the store is held by a running hub; reading through {url}",
                  file=sys.stderr)
    try:
        if store is not None:
            return build_report(StoreSource(store), files, period, cfg, source_name="store", now=now), None
        src = HttpSource(url, token=args.token)
        try:
            cur = src.get_json("/api/metrics/current")
            hist = src.get_json("/api/alerts/history", limit=10000).get("transitions", [])
            return build_report(src, files, period, cfg, interval=cur.get("interval_seconds"),
                                transitions=hist, source_name=f"hub API at {url}", now=now), None
        finally:
            src.close()
    except QueryError as e:
        return None, fail(str(e), 2)
    except StoreError as e:
        return None, fail(str(e), 1)
    finally:
        if store is not None:
            store.close()


def write_report(report, fmt: str, out: str | None) -> str | None:
    """Write ``report`` in ``fmt`` to ``out`` (stdout for html/json when None), replacing it
    atomically. Returns a note."""
    from .. import atomicfile
    from .render import render_html, render_json

    if fmt == "pdf":
        from .pdf import write_pdf

        with atomicfile.atomic_path(out) as tmp:
            pages = write_pdf(report, tmp)
        return f"wrote {out} ({pages} pages)"
    text = render_html(report) if fmt == "html" else render_json(report)
    if out is None:
        sys.stdout.write(text)
        return None
    atomicfile.write_text(out, text)
    return f"wrote {out} ({len(text.encode())} bytes)"


def cmd_report(args) -> int:
    if args.format == "pdf" and not args.out:
        return fail("--format pdf needs --out FILE", 2)
    if args.format == "pdf" and not pdf_available():
        return fail("pdf not available: matplotlib is not installed", 2)
    t0 = time.perf_counter()
    report, code = make_report(args, time.time())
    if report is None:
        return code
    try:
        note = write_report(report, args.format, args.out)
    except OSError as e:
        return fail(f"cannot write {args.out}: {e.strerror}", 1)
    if note:
        print(f"{note} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def pdf_available() -> bool:
    try:
        import matplotlib.backends.backend_pdf  # noqa: F401
    except ImportError:
        return False
    return True


def add_parser(sub, default_data_dir: str) -> None:
    """Register ``report`` on the CLI's subparsers."""
    s = sub.add_parser("report", help="performance report over a period (HTML, JSON or PDF)")
    s.add_argument("--period", default="week",
                   help="day, week, month (the last 24 h / 7 d / 30 d) or START..END "
                        "(Unix seconds, RFC 3339 or now-DURATION)")
    s.add_argument("--format", choices=["html", "json", "pdf"], default="html")
    s.add_argument("--out", help="file to write (default stdout; required for pdf)")
    s.add_argument("--url", help="read a running hub's API instead of the store")
    s.add_argument("--data-dir", default=default_data_dir,
                   help="the hub's data dir: its store when no hub holds it, and always its logs "
                        "(alerts, optimizations, benchmarks) (default ./data or $AUTOBOT_MONITOR_DATA_DIR)")
    s.add_argument("--config", help="config of that hub (thresholds, inventory, storage)")
    from ..cmdline import add_token_args

    add_token_args(s)  # --token-file, --token (warned: visible in ps), $AUTOBOT_MONITOR_TOKEN
    s.set_defaults(func=cmd_report)
