"""Pressure stall information from ``/proc/pressure/{cpu,io,memory}``, exported like
node_exporter's ``pressure`` collector."""

from __future__ import annotations

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext, CounterDelta
from .procutil import MAX_FILE_BYTES

#: (resource, PSI line, metric name, help), node_exporter 1.5's (no cpu "full", no irq).
_METRICS = (
    ("cpu", "some", "node_pressure_cpu_waiting_seconds_total",
     "Total time in seconds that processes have waited for CPU time"),
    ("io", "some", "node_pressure_io_waiting_seconds_total",
     "Total time in seconds that processes have waited due to IO congestion"),
    ("io", "full", "node_pressure_io_stalled_seconds_total",
     "Total time in seconds no process could make progress due to IO congestion"),
    ("memory", "some", "node_pressure_memory_waiting_seconds_total",
     "Total time in seconds that processes have waited for memory"),
    ("memory", "full", "node_pressure_memory_stalled_seconds_total",
     "Total time in seconds no process could make progress due to memory congestion"),
)


class PressureCollector(Collector):
    """Emits the ``node_pressure_*_seconds_total`` counters of :data:`_METRICS`: the ``total=``
    field (microseconds of stall since boot) of a resource's ``some`` or ``full`` line, in
    seconds. ``some``: at least one task stalled; ``full``: all non-idle tasks stalled at once.
    A kernel without PSI (no ``/proc/pressure``, or ``psi=0``: reading fails with EOPNOTSUPP)
    emits nothing; a missing file or line or a ``total`` that is not a non-negative integer
    leaves that family out. Never raises for odd input.

    Derived from the difference with the previous call (monotonic clock), for the dashboard:
    ``autobot_pressure_waiting_percent{resource}`` (``some``) and
    ``autobot_pressure_stalled_percent{resource}`` (``full``), the share of wall time stalled
    since the previous collection, in [0, 100]. Absent on the first call and after a counter
    went down.
    """

    name = "pressure"
    isolate = False
    SPECS = tuple(MetricSpec(n, "counter", h, "seconds") for _, _, n, h in _METRICS) + (
        MetricSpec("autobot_pressure_waiting_percent", "gauge",
                   "Share of time at least one task waited for the resource (PSI some) since "
                   "the previous collection.", "percent", ("resource",)),
        MetricSpec("autobot_pressure_stalled_percent", "gauge",
                   "Share of time all non-idle tasks stalled on the resource (PSI full) since "
                   "the previous collection.", "percent", ("resource",)),
    )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._delta = CounterDelta()

    def collect(self) -> list[MetricFamily]:
        totals = {res: parse_psi(self.files.read_bounded(self.ctx.proc("pressure", res), MAX_FILE_BYTES) or "")
                  for res in ("cpu", "io", "memory")}
        now = self.ctx.clock.monotonic()
        out = []
        shares = {"some": self.spec("autobot_pressure_waiting_percent").family(),
                  "full": self.spec("autobot_pressure_stalled_percent").family()}
        for spec, (res, line, _, _) in zip(self.SPECS[:len(_METRICS)], _METRICS, strict=True):
            total = totals[res].get(line)
            if total is None:
                continue
            fam = spec.family()
            fam.add(total / 1000.0 / 1000.0)  # node_exporter's arithmetic, bit for bit
            out.append(fam)
            rate = self._delta.update((res, line), total, now)  # microseconds per second
            if rate is not None:
                shares[line].add(min(100.0, rate / 1e4), {"resource": res})
        self._delta.retain((res, line) for res, t in totals.items() for line in t)
        return out + [f for f in shares.values() if f.samples]


def parse_psi(text: str) -> dict[str, int]:
    """``{"some": total_us, "full": total_us}`` from a PSI file's lines
    ``some avg10=0.00 avg60=0.00 avg300=0.00 total=1234``; lines without a valid ``total`` are
    skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0] not in ("some", "full"):
            continue
        for f in fields[1:]:
            key, _, raw = f.partition("=")
            if key == "total" and raw.isdigit():
                out[fields[0]] = int(raw)
    return out
