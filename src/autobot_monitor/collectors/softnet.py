"""Per-CPU packet processing statistics from ``/proc/net/softnet_stat``, exported like
node_exporter 1.5's ``softnet`` collector."""

from __future__ import annotations

from ..model import MetricFamily, MetricSpec
from .base import Collector
from .procutil import MAX_FILE_BYTES

_MIN_COLUMNS = 9  # what prometheus/procfs requires of a line


class SoftnetCollector(Collector):
    """Emits ``node_softnet_processed_total``, ``node_softnet_dropped_total`` and
    ``node_softnet_times_squeezed_total`` (counters, label ``cpu``) from the first three hex
    columns of each line of ``/proc/net/softnet_stat`` (packets processed, packets dropped for
    a full backlog, times net_rx_action ran out of budget or time). ``cpu`` is the line's index,
    as node_exporter 1.5 labels it (the kernel skips offline CPUs, so it is the n-th online
    CPU). A missing file emits nothing; a line with fewer than 9 columns or a column that is not
    a 32-bit hex number is skipped (its index still counts). Never raises.
    """

    name = "softnet"
    isolate = False
    SPECS = (
        MetricSpec("node_softnet_processed_total", "counter", "Number of processed packets",
                   labels=("cpu",)),
        MetricSpec("node_softnet_dropped_total", "counter", "Number of dropped packets",
                   labels=("cpu",)),
        MetricSpec("node_softnet_times_squeezed_total", "counter",
                   "Number of times processing packets ran out of quota", labels=("cpu",)),
    )

    def collect(self) -> list[MetricFamily]:
        text = self.files.read_bounded(self.ctx.proc("net", "softnet_stat"), MAX_FILE_BYTES)
        if text is None:
            return []
        fams = [s.family() for s in self.SPECS]
        for cpu, line in enumerate(text.splitlines()):
            cols = line.split()
            if len(cols) < _MIN_COLUMNS:
                continue
            try:
                values = [int(c, 16) for c in cols[:3]]
            except ValueError:
                continue
            if any(v < 0 or v > 0xFFFFFFFF for v in values):
                continue
            for fam, v in zip(fams, values, strict=True):
                fam.add(v, {"cpu": str(cpu)})
        return [f for f in fams if f.samples]
