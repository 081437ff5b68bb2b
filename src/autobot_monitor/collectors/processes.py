"""Process counts and a budgeted top-N of processes by CPU and memory from ``/proc/[pid]/stat``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector, option_interval, read_text
from .cpu import USER_HZ


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4096


PAGE_SIZE = _page_size()


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/[pid]/stat`` this collector uses (times in USER_HZ ticks)."""

    pid: int
    comm: str
    state: str
    ticks: int  # utime + stime
    threads: int
    starttime: int
    rss_pages: int


def parse_stat(pid: int, text: str) -> ProcStat | None:
    """Parse one ``/proc/[pid]/stat`` line; ``None`` if it is truncated or garbled.

    ``comm`` may contain spaces and parentheses, so it runs from the first ``(`` to the *last*
    ``)``; the numbered fields follow (field 3 = state, 14/15 = utime/stime, 20 = num_threads,
    22 = starttime, 24 = rss in pages).
    """
    open_i, close_i = text.find("("), text.rfind(")")
    if open_i < 0 or close_i < open_i:
        return None
    rest = text[close_i + 1:].split()
    if len(rest) < 22 or len(rest[0]) != 1:
        return None
    try:
        ticks = int(rest[11]) + int(rest[12])
        threads, starttime, rss = int(rest[17]), int(rest[19]), int(rest[21])
    except ValueError:
        return None
    if ticks < 0 or threads < 0 or rss < 0:
        return None
    return ProcStat(pid, text[open_i + 1:close_i], rest[0], ticks, threads, starttime, rss)


class ProcessesCollector(Collector):
    """Counts and a top-N from ``/proc/[pid]/stat`` (one read per process).

    Emits node_exporter's ``node_processes_state{state}`` (processes per state letter R, S, D, Z,
    T, I...), ``node_processes_pids`` (the process count) and ``node_processes_threads``, and for the union of the top ``top_n`` (option, default 10)
    processes by CPU and by resident memory: ``autobot_process_cpu_percent{pid,name}`` (utime +
    stime delta between two scans over the monotonic interval; 100 = one full core; absent on a
    process's first scan) and ``autobot_process_resident_memory_bytes{pid,name}`` (rss pages *
    page size). ``name`` is the kernel ``comm``; command lines and users are never exported.

    Budget: the runner runs a scan at most every option ``interval`` (or its older name
    ``scan_interval``) seconds, default 15 (:attr:`default_interval`), and serves the last scan's
    figures in between; :meth:`collect` itself scans on every call. A scan reads at most option
    ``max_processes`` (default 5000) pids, lowest first; counts then cover those only. A process
    that vanishes mid-scan or whose stat is garbled is skipped. A pid is tracked together with its
    start time so a reused pid never yields a bogus CPU delta. Raises :class:`CollectorError` only
    when the procfs directory cannot be listed.
    """

    name = "processes"
    isolate = False
    default_interval = 15.0
    SPECS = (
        MetricSpec("node_processes_state", "gauge",
                   "Number of processes in each state.", "", ("state",)),
        MetricSpec("node_processes_pids", "gauge", "Number of PIDs."),
        MetricSpec("node_processes_threads", "gauge", "Allocated threads in system."),
        MetricSpec("autobot_process_cpu_percent", "gauge",
                   "CPU used by the process between the last two scans (100 = one core).",
                   "percent", ("pid", "name")),
        MetricSpec("autobot_process_resident_memory_bytes", "gauge",
                   "Resident set size of the process.", "bytes", ("pid", "name")),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self.top_n = int(self.options.get("top_n", 10))
        self.max_processes = int(self.options.get("max_processes", 5000))
        self._last_scan: float | None = None
        self._prev_ticks: dict[tuple[int, int], int] = {}

    def interval(self) -> float | None:
        """Option ``interval``, else ``scan_interval`` (its name before the runner scheduled
        collectors), else 15 s."""
        raw = self.options.get("interval", self.options.get("scan_interval"))
        return option_interval(self.name, raw, self.default_interval)

    def collect(self) -> list[MetricFamily]:
        fams = {s.name: s.family() for s in self.SPECS}
        for name, labels, value in self._scan(self.ctx.clock.monotonic()):
            fams[name].add(value, labels)
        return [f for f in fams.values() if f.samples]

    def _pids(self) -> list[int]:
        try:
            entries = os.listdir(self.ctx.proc())
        except OSError as e:
            raise CollectorError(f"cannot list {self.ctx.proc()}: {e}") from e
        return sorted(int(e) for e in entries if e.isdigit())[: max(0, self.max_processes)]

    def _scan(self, now: float) -> list[tuple[str, dict[str, str], float]]:
        procs: list[ProcStat] = []
        for pid in self._pids():
            text = read_text(self.ctx.proc(str(pid), "stat"))
            if text is None:
                continue  # vanished or unreadable
            st = parse_stat(pid, text)
            if st is not None:
                procs.append(st)
        elapsed = None if self._last_scan is None else now - self._last_scan
        cpu: dict[int, float] = {}
        ticks: dict[tuple[int, int], int] = {}
        for p in procs:
            key = (p.pid, p.starttime)
            ticks[key] = p.ticks
            prev = self._prev_ticks.get(key)
            if elapsed and elapsed > 0 and prev is not None and p.ticks >= prev:
                cpu[p.pid] = (p.ticks - prev) / USER_HZ / elapsed * 100.0
        self._prev_ticks = ticks
        self._last_scan = now

        out: list[tuple[str, dict[str, str], float]] = []
        states: dict[str, int] = {}
        for p in procs:
            states[p.state] = states.get(p.state, 0) + 1
        for state in sorted(states):
            out.append(("node_processes_state", {"state": state}, states[state]))
        out.append(("node_processes_pids", {}, len(procs)))
        out.append(("node_processes_threads", {}, sum(p.threads for p in procs)))

        n = max(0, self.top_n)
        by_cpu = sorted((p for p in procs if p.pid in cpu), key=lambda p: (-cpu[p.pid], p.pid))[:n]
        by_mem = sorted(procs, key=lambda p: (-p.rss_pages, p.pid))[:n]
        chosen = {p.pid: p for p in (*by_cpu, *by_mem)}
        for pid in sorted(chosen):
            p = chosen[pid]
            labels = {"pid": str(pid), "name": p.comm}
            if pid in cpu:
                out.append(("autobot_process_cpu_percent", labels, cpu[pid]))
            out.append(("autobot_process_resident_memory_bytes", labels, p.rss_pages * PAGE_SIZE))
        return out
