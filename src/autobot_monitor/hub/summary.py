"""A host's ``summary``: the declared figures (:mod:`autobot_monitor.figures`) evaluated on the
families of one host (local collectors or a scraped agent).

The result is the ``summary`` dict the API, the CLI and the dashboard show. Every figure is read
from samples; a figure whose samples are absent (or not finite) is ``None`` ("not measured"),
never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..figures import HOST_TABLE, Figure, Group, combine, count_values
from ..model import MetricFamily, Sample


def _index(families: Iterable[MetricFamily]) -> dict[str, list[Sample]]:
    idx: dict[str, list[Sample]] = {}
    for f in families:
        idx.setdefault(f.name, []).extend(f.samples)
    return idx


def evaluate(fig: Figure, idx: dict[str, list[Sample]], where: tuple[str, str] | None = None
             ) -> float | None:
    """``fig`` over the samples of its metrics in ``idx`` (name -> samples) that pass its
    filters and, with ``where=(label, value)``, carry that label value."""
    picked = []
    for m in fig.metrics:
        for s in idx.get(m, ()):
            ls = s.label_dict
            if fig.selects(ls) and (where is None or ls.get(where[0]) == where[1]):
                picked.append((ls, s.value))
    if fig.agg == "count":
        return count_values(fig.count_label, (ls for ls, _ in picked))
    return combine(fig.agg, (v for _, v in picked))


def _items(group: Group, idx: dict[str, list[Sample]]) -> list[dict[str, Any]]:
    """One dict per anchor sample: its labels, its value (when the anchor has a key) and the
    member figures of that item."""
    items = []
    for s in idx.get(group.anchor.metrics[0], ()):
        lab = s.label_dict
        if not group.anchor.selects(lab) or (
                group.anchor_value is not None and s.value != group.anchor_value):
            continue
        item: dict[str, Any] = {name: lab.get(name) for name in group.labels}
        if group.anchor.key:
            item[group.anchor.key] = combine("max", (s.value,))
        where = (group.by, lab.get(group.by, ""))
        for f in group.figures:
            item[f.key] = evaluate(f, idx, where)
        items.append(item)
    return items


def summarize(families: Iterable[MetricFamily]) -> dict[str, Any]:
    """Summary of one host, keys in the order of :data:`~autobot_monitor.figures.HOST_TABLE`
    (dotted keys nest). Shape (units in the key names; ``None`` = not measured)::

        {"cpu_percent", "cpu_count", "load1", "load5", "load15",
         "memory": {"total_bytes", "available_bytes", "used_percent", "swap_used_percent"},
         "filesystems": [{"mountpoint", "device", "fstype", "size_bytes", "avail_bytes",
                          "used_percent"}],
         "disk_used_percent_max",
         "disk_io": {"read_bytes_per_second", "written_bytes_per_second"},
         "network": {"receive_bytes_per_second", "transmit_bytes_per_second"},
         "gpu_available", "gpus": [{"gpu", "name", "utilization_percent", "memory_used_bytes",
                   "memory_total_bytes", "temperature_celsius", "power_watts"}],
         "npu_available", "npus": [{"npu", "utilization_percent"}],
         "temperature_max_celsius", "processes",
         "pressure": {"cpu_waiting_percent", "memory_waiting_percent", "memory_stalled_percent",
                      "io_waiting_percent", "io_stalled_percent"},
         "tcp_retransmit_percent", "clock": {"synchronised", "offset_seconds"},
         "units": {"failed"}, "failed_units": [{"name", "type"}],
         "disks": [{"device", "smart_status", "temperature_celsius", "power_on_seconds",
                    "percentage_used", "media_errors", "critical_warning"}],
         "containers": [{"id", "name", "cpu_percent", "cpu_limit_cores",
                         "memory_working_set_bytes", "memory_limit_bytes", "oom_events",
                         "processes"}],
         "uptime_seconds", "boot_time_seconds"}
    """
    idx = _index(families)
    out: dict[str, Any] = {}
    for row in HOST_TABLE:
        if isinstance(row, Group):
            out[row.key] = _items(row, idx)
            continue
        *parents, leaf = row.key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = evaluate(row, idx)
    return out
