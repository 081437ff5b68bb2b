"""Reports built by the hub on a schedule, and the directory they are kept in.

``reports: {schedule: weekly|daily|off, dir: reports, formats: [html, json], keep: 100}``: after
each cycle the hub checks whether the last *complete* period (the previous UTC day, or the
previous ISO week Monday 00:00 to Monday 00:00 UTC) has its report in ``<data-dir>/<dir>``; when
not, and the store holds host data for that period, it builds it in a worker thread (never on the
event loop) from its own store and the live alert history. Files are
``report-{daily|weekly}-YYYYMMDD.{html,json,pdf}`` (the period's first day); the oldest are
removed past ``keep`` files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .period import Period

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"^report-(daily|weekly|day|week|month|custom)-(\d{8})(T\d{6}Z)?\.(html|json|pdf)$")
MEDIA = {"html": "text/html; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


def reports_dir(cfg, data_dir: str) -> str:
    d = cfg.reports.dir
    return d if os.path.isabs(d) else os.path.join(data_dir, d)


def last_complete(schedule: str, now: float) -> Period:
    """The last complete UTC day (``daily``) or ISO week (``weekly``) before ``now``."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == "daily":
        end = today
        start = end - timedelta(days=1)
        kind = "day"
    else:
        end = today - timedelta(days=today.weekday())
        start = end - timedelta(days=7)
        kind = "week"
    return Period(kind, start.timestamp(), end.timestamp())


def file_stem(schedule: str, period: Period) -> str:
    return f"report-{schedule}-{datetime.fromtimestamp(period.start, UTC):%Y%m%d}"


def list_reports(directory: str) -> list[dict]:
    """``[{name, format, size_bytes, modified}]`` newest first; only files named like reports."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        m = NAME_RE.match(n)
        if not m:
            continue
        try:
            st = os.stat(os.path.join(directory, n))
        except OSError:
            continue
        out.append({"name": n, "format": m.group(4), "size_bytes": st.st_size, "modified": st.st_mtime})
    out.sort(key=lambda r: (-r["modified"], r["name"]))
    return out


def prune(directory: str, keep: int) -> int:
    """Remove the oldest report files past ``keep``; returns how many were removed."""
    gone = 0
    for r in list_reports(directory)[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, r["name"]))
            gone += 1
    return gone


def build_files(store, cfg, data_dir: str, period: Period, stem: str, transitions: list[dict],
                interval: float) -> list[str]:
    """Blocking: build the report from ``store`` and write every configured format."""
    from .build import build_report
    from .command import write_report
    from .source import DataFiles, StoreSource

    d = reports_dir(cfg, data_dir)
    os.makedirs(d, exist_ok=True)
    # matplotlib keeps its font cache here: the hub's unit may write only its data dir
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(data_dir, ".cache", "matplotlib"))
    report = build_report(StoreSource(store), DataFiles(data_dir, cfg.logging.dir), period, cfg,
                          interval=interval, transitions=transitions, source_name="hub")
    paths = []
    for fmt in cfg.reports.formats:
        path = os.path.join(d, f"{stem}.{fmt}")
        write_report(report, fmt, path)  # atomic: a reader never sees half a report
        paths.append(path)
    prune(d, cfg.reports.keep)
    return paths


class ReportScheduler:
    """Owned by the hub: :meth:`tick` after each cycle (cheap; starts at most one build task).
    ``config()`` returns the live config (reloads change it), ``store`` is where report data is
    read, ``data_dir`` holds the reports dir, ``transitions()`` returns the alert transition
    history (dicts, oldest first)."""

    def __init__(self, config: Callable[[], Any], store: Any, data_dir: str,
                 transitions: Callable[[], list[dict[str, Any]]]):
        self.config, self.store, self.data_dir = config, store, data_dir
        self.transitions = transitions
        self.task: asyncio.Task | None = None
        self._done: set[str] = set()
        self.last_error: str | None = None

    def tick(self, now: float) -> None:
        cfg = self.config()
        sched = cfg.reports.schedule
        if sched == "off" or self.store is None or (self.task and not self.task.done()):
            return
        period = last_complete(sched, now)
        stem = file_stem(sched, period)
        if stem in self._done:
            return
        self._done.add(stem)
        transitions = list(self.transitions())
        self.task = asyncio.create_task(self._run(cfg, period, stem, transitions))

    async def _run(self, cfg, period: Period, stem: str, transitions: list[dict]) -> None:
        d = reports_dir(cfg, self.data_dir)
        if any(os.path.exists(os.path.join(d, f"{stem}.{f}")) for f in cfg.reports.formats):
            return
        store = self.store
        try:
            has_data = await asyncio.to_thread(store.mean, "autobot_host_up", {}, period.start, period.end)
            if has_data is None:
                return
            paths = await asyncio.to_thread(build_files, store, cfg, self.data_dir, period, stem,
                                            transitions, cfg.monitoring_interval)
            self.last_error = None
            log.info("report written: %s", ", ".join(paths))
        except Exception as e:  # noqa: BLE001 - a failed report must not affect monitoring
            self.last_error = f"{type(e).__name__}: {e}"
            log.error("scheduled report %s failed: %s", stem, self.last_error)

    async def aclose(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
