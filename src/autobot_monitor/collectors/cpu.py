"""CPU time, scheduler counters and derived utilisation from ``/proc/stat``."""

from __future__ import annotations

import os

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector


def _clock_ticks() -> int:
    try:
        hz = os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 100
    return hz if hz > 0 else 100


USER_HZ = _clock_ticks()
"""Kernel USER_HZ: units of the jiffy counters in ``/proc/stat`` and ``/proc/[pid]/stat``."""

#: The eight non-guest time fields of a ``cpu`` line, in kernel order (node_exporter mode names).
MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
#: Guest fields that follow them (already included in user/nice by the kernel).
GUEST_MODES = ("user", "nice")


def parse_cpu_line(fields: list[str]) -> tuple[str, list[int]] | None:
    """``["cpu3", "1", "2", ...]`` -> ``("3", [ticks...])`` (``"all"`` for the aggregate line).

    Returns ``None`` unless at least the four fields every kernel has (user nice system idle)
    parse as non-negative integers. Missing trailing fields (old kernels) are padded with 0; the
    result always has 10 entries: the eight :data:`MODES` then guest, guest_nice.
    """
    label = fields[0][3:] or "all"
    if label != "all" and not label.isdigit():
        return None
    values: list[int] = []
    for f in fields[1:11]:
        try:
            v = int(f)
        except ValueError:
            break
        if v < 0:
            break
        values.append(v)
    if len(values) < 4:
        return None
    values += [0] * (10 - len(values))
    return label, values


def utilization(prev: list[int], cur: list[int]) -> dict[str, float] | None:
    """Percent of elapsed CPU time per mode between two ``cpu`` lines (10 fields each).

    ``None`` when any field went down (counter reset, CPU hot-plug) or no time elapsed; then no
    value can be outside [0, 100] because every share is a non-negative delta over their sum.
    The result has the eight :data:`MODES` plus ``"busy"`` (everything but idle and iowait).
    """
    deltas = [c - p for p, c in zip(prev, cur, strict=True)]
    if any(d < 0 for d in deltas):
        return None
    mode_deltas = deltas[: len(MODES)]
    total = sum(mode_deltas)
    if total <= 0:
        return None
    # min(): with counters near 2**63 float rounding can give 100.00000000000001
    out = {m: min(100.0, d * 100.0 / total) for m, d in zip(MODES, mode_deltas, strict=True)}
    idle = mode_deltas[MODES.index("idle")] + mode_deltas[MODES.index("iowait")]
    out["busy"] = min(100.0, (total - idle) * 100.0 / total)
    return out


class CpuCollector(Collector):
    """Reads ``/proc/stat`` (counters in USER_HZ ticks, reported in seconds).

    Emits, with node_exporter's names and labels: ``node_cpu_seconds_total{cpu,mode}`` for each
    core (``cpu`` = "0", "1", ...; the eight :data:`MODES`), ``node_cpu_guest_seconds_total
    {cpu,mode=user|nice}`` (guest time is *also* counted in user/nice, reported as is),
    ``node_context_switches_total``, ``node_intr_total``, ``node_forks_total``,
    ``node_procs_running`` and ``node_procs_blocked``.

    Derived from the difference with the previous call: ``autobot_cpu_utilization_percent
    {cpu,mode}`` and ``autobot_cpu_busy_percent{cpu}`` (``cpu`` = "all" for the aggregate line and
    each core). Absent on the first call, and for a cpu whose counters went down or did not move.

    Raises :class:`CollectorError` only when ``/proc/stat`` cannot be read at all.
    """

    name = "cpu"
    isolate = False
    SPECS = (
        MetricSpec("node_cpu_seconds_total", "counter",
                   "Seconds the CPUs spent in each mode.", "seconds", ("cpu", "mode")),
        MetricSpec("node_cpu_guest_seconds_total", "counter",
                   "Seconds the CPUs spent in guests (VMs) for each mode.", "seconds",
                   ("cpu", "mode")),
        MetricSpec("node_context_switches_total", "counter", "Total number of context switches."),
        MetricSpec("node_intr_total", "counter", "Total number of interrupts serviced."),
        MetricSpec("node_forks_total", "counter", "Total number of forks."),
        MetricSpec("node_procs_running", "gauge", "Number of processes in runnable state."),
        MetricSpec("node_procs_blocked", "gauge", "Number of processes blocked waiting for I/O."),
        MetricSpec("autobot_cpu_utilization_percent", "gauge",
                   "Share of CPU time spent in each mode since the previous collection.",
                   "percent", ("cpu", "mode")),
        MetricSpec("autobot_cpu_busy_percent", "gauge",
                   "Share of CPU time not idle and not waiting for I/O since the previous "
                   "collection.", "percent", ("cpu",)),
    )

    _SCALARS = {
        "ctxt": "node_context_switches_total",
        "intr": "node_intr_total",
        "processes": "node_forks_total",
        "procs_running": "node_procs_running",
        "procs_blocked": "node_procs_blocked",
    }

    def __init__(self, ctx):
        super().__init__(ctx)
        self._prev: dict[str, list[int]] = {}

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("stat")
        text = self.files.read(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        seconds = self.spec("node_cpu_seconds_total").family()
        guest = self.spec("node_cpu_guest_seconds_total").family()
        scalars: dict[str, MetricFamily] = {}
        cur: dict[str, list[int]] = {}
        for line in text.splitlines():
            fields = line.split()
            if not fields:
                continue
            key = fields[0]
            if key.startswith("cpu"):
                parsed = parse_cpu_line(fields)
                if parsed is None or parsed[0] in cur:
                    continue
                label, values = parsed
                cur[label] = values
                if label == "all":
                    continue
                for mode, v in zip(MODES, values, strict=False):
                    seconds.add(v / USER_HZ, {"cpu": label, "mode": mode})
                for mode, v in zip(GUEST_MODES, values[8:], strict=True):
                    guest.add(v / USER_HZ, {"cpu": label, "mode": mode})
            elif key in self._SCALARS and len(fields) >= 2:
                try:
                    v = int(fields[1])
                except ValueError:
                    continue
                fam = self.spec(self._SCALARS[key]).family()
                fam.add(v)
                scalars[fam.name] = fam
        out = [f for f in (seconds, guest) if f.samples]
        out.extend(scalars.values())
        out.extend(self._derived(cur))
        self._prev = cur
        return out

    def _derived(self, cur: dict[str, list[int]]) -> list[MetricFamily]:
        util = self.spec("autobot_cpu_utilization_percent").family()
        busy = self.spec("autobot_cpu_busy_percent").family()
        for label, values in cur.items():
            prev = self._prev.get(label)
            if prev is None:
                continue
            shares = utilization(prev, values)
            if shares is None:
                continue
            for mode in MODES:
                util.add(shares[mode], {"cpu": label, "mode": mode})
            busy.add(shares["busy"], {"cpu": label})
        return [f for f in (util, busy) if f.samples]
