"""The agent's own process figures (``process_*``, as every Prometheus client exposes them),
from prometheus_client's :class:`~prometheus_client.ProcessCollector` reading ``/proc/self``."""

from __future__ import annotations

import logging

from prometheus_client import ProcessCollector

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext
from .filecache import read_bounded

log = logging.getLogger(__name__)

#: /proc/self/limits spells "no limit" so; Go's client (node_exporter) reports 2**64 - 1.
_UNLIMITED = float(2**64 - 1)


class ProcessSelfCollector(Collector):
    """Emits ``process_cpu_seconds_total`` (user + system CPU seconds), ``process_open_fds``,
    ``process_max_fds`` (soft ``RLIMIT_NOFILE``), ``process_virtual_memory_bytes``,
    ``process_resident_memory_bytes``, ``process_start_time_seconds`` (Unix seconds) of the
    agent process itself, computed by prometheus_client from ``/proc/self/stat``, ``limits``
    and ``fd``; plus ``process_virtual_memory_max_bytes`` (soft ``RLIMIT_AS``, 2**64 - 1 for
    ``unlimited``, as Go's client reports it) from ``/proc/self/limits``.

    Always this process's ``/proc`` (not ``--path.procfs``, which may be the host's), like
    node_exporter's own ``process_*``. A figure that cannot be read is absent. Never raises.
    """

    name = "process"
    isolate = False
    SPECS = (
        MetricSpec("process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.", "seconds"),
        MetricSpec("process_open_fds", "gauge", "Number of open file descriptors."),
        MetricSpec("process_max_fds", "gauge", "Maximum number of open file descriptors."),
        MetricSpec("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                   "bytes"),
        MetricSpec("process_virtual_memory_max_bytes", "gauge",
                   "Maximum amount of virtual memory available in bytes.", "bytes"),
        MetricSpec("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                   "bytes"),
        MetricSpec("process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.", "seconds"),
    )
    PROC = "/proc"

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._client = ProcessCollector(proc=self.PROC, registry=None)
        self._specs = {s.name: s for s in self.SPECS}

    def collect(self) -> list[MetricFamily]:
        values: dict[str, float] = {}
        try:
            metrics = list(self._client.collect())
        except (OSError, ValueError, IndexError, NameError) as e:  # odd /proc/self files
            log.debug("process metrics: %s", e)
            metrics = []
        for m in metrics:
            for s in m.samples:
                values.setdefault(s.name, s.value)
        vmax = address_space_limit(read_bounded(f"{self.PROC}/self/limits", 64 * 1024) or "")
        if vmax is not None:
            values["process_virtual_memory_max_bytes"] = vmax
        out = []
        for spec in self.SPECS:
            if spec.name in values:
                fam = spec.family()
                fam.add(values[spec.name])
                out.append(fam)
        return out


def address_space_limit(limits: str) -> float | None:
    """The soft limit of the ``Max address space`` line of a ``/proc/<pid>/limits`` text in
    bytes (:data:`_UNLIMITED` for ``unlimited``), or ``None`` when there is no such line."""
    for line in limits.splitlines():
        if line.startswith("Max address space"):
            soft = line[len("Max address space"):].split()[:1]
            if soft == ["unlimited"]:
                return _UNLIMITED
            if soft and soft[0].isdigit():
                return float(soft[0])
    return None
