"""People-facing figures derived from one host's families, in one place.

:func:`summarize` turns the families of one host (local collectors or a scraped agent) into the
``summary`` dict the API, the CLI and the dashboard show. Every figure is read from a sample; a
figure whose sample is absent is ``None`` ("not measured"), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..model import MetricFamily, Sample

_PSEUDO_NET = ("lo",)


def _index(families: Iterable[MetricFamily]) -> dict[str, list[Sample]]:
    idx: dict[str, list[Sample]] = {}
    for f in families:
        idx.setdefault(f.name, []).extend(f.samples)
    return idx


def _one(idx: dict[str, list[Sample]], name: str, **match: str) -> float | None:
    for s in idx.get(name, ()):
        if all((k, v) in s.labels for k, v in match.items()):
            return s.value if math.isfinite(s.value) else None
    return None


def _sum(idx: dict[str, list[Sample]], name: str, skip_label: str = "",
         skip: tuple[str, ...] = ()) -> float | None:
    vals = [s.value for s in idx.get(name, ())
            if math.isfinite(s.value) and not (skip_label and s.label_dict.get(skip_label) in skip)]
    return sum(vals) if vals else None


def summarize(families: Iterable[MetricFamily]) -> dict:
    """Summary of one host. Shape (units in the key names; ``None`` = not measured)::

        {"cpu_percent", "load1", "load5", "load15", "cpu_count",
         "memory": {"total_bytes", "available_bytes", "used_percent", "swap_used_percent"},
         "filesystems": [{"mountpoint", "device", "fstype", "size_bytes", "avail_bytes",
                          "used_percent"}],
         "disk_used_percent_max",
         "disk_io": {"read_bytes_per_second", "written_bytes_per_second"},
         "network": {"receive_bytes_per_second", "transmit_bytes_per_second"},
         "gpus": [{"gpu", "name", "utilization_percent", "memory_used_bytes",
                   "memory_total_bytes", "temperature_celsius", "power_watts"}],
         "gpu_available", "npu_available", "npus": [{"npu", "utilization_percent"}],
         "temperature_max_celsius", "processes", "uptime_seconds", "boot_time_seconds"}
    """
    idx = _index(families)
    cpus = {s.label_dict.get("cpu") for s in idx.get("node_cpu_seconds_total", ())}
    fs = []
    for s in idx.get("node_filesystem_size_bytes", ()):
        lab = s.label_dict
        mp = lab.get("mountpoint", "")
        fs.append({
            "mountpoint": mp, "device": lab.get("device"), "fstype": lab.get("fstype"),
            "size_bytes": s.value,
            "avail_bytes": _one(idx, "node_filesystem_avail_bytes", mountpoint=mp),
            "used_percent": _one(idx, "autobot_filesystem_used_percent", mountpoint=mp),
        })
    used = [f["used_percent"] for f in fs if f["used_percent"] is not None]
    gpus = []
    for s in idx.get("autobot_gpu_info", ()):
        lab = s.label_dict
        g = lab.get("gpu", "")
        gpus.append({
            "gpu": g, "name": lab.get("name"),
            "utilization_percent": _one(idx, "autobot_gpu_utilization_percent", gpu=g),
            "memory_used_bytes": _one(idx, "autobot_gpu_memory_used_bytes", gpu=g),
            "memory_total_bytes": _one(idx, "autobot_gpu_memory_total_bytes", gpu=g),
            "temperature_celsius": _one(idx, "autobot_gpu_temperature_celsius", gpu=g),
            "power_watts": _one(idx, "autobot_gpu_power_watts", gpu=g),
        })
    npus = [{"npu": s.label_dict.get("npu"), "utilization_percent": s.value}
            for s in idx.get("autobot_npu_utilization_percent", ())]
    temps = [s.value for n in ("node_hwmon_temp_celsius", "node_thermal_zone_temp")
             for s in idx.get(n, ()) if math.isfinite(s.value)]
    return {
        "cpu_percent": _one(idx, "autobot_cpu_busy_percent", cpu="all"),
        "cpu_count": len(cpus - {None}) or None,
        "load1": _one(idx, "node_load1"),
        "load5": _one(idx, "node_load5"),
        "load15": _one(idx, "node_load15"),
        "memory": {
            "total_bytes": _one(idx, "node_memory_MemTotal_bytes"),
            "available_bytes": _one(idx, "node_memory_MemAvailable_bytes"),
            "used_percent": _one(idx, "autobot_memory_used_percent"),
            "swap_used_percent": _one(idx, "autobot_swap_used_percent"),
        },
        "filesystems": fs,
        "disk_used_percent_max": max(used) if used else None,
        "disk_io": {
            "read_bytes_per_second": _sum(idx, "autobot_disk_read_bytes_per_second"),
            "written_bytes_per_second": _sum(idx, "autobot_disk_written_bytes_per_second"),
        },
        "network": {
            "receive_bytes_per_second": _sum(idx, "autobot_network_receive_bytes_per_second",
                                             "device", _PSEUDO_NET),
            "transmit_bytes_per_second": _sum(idx, "autobot_network_transmit_bytes_per_second",
                                              "device", _PSEUDO_NET),
        },
        "gpu_available": _one(idx, "autobot_gpu_available"),
        "gpus": gpus,
        "npu_available": _one(idx, "autobot_npu_available"),
        "npus": npus,
        "temperature_max_celsius": max(temps) if temps else None,
        "processes": _one(idx, "node_processes_pids"),
        "uptime_seconds": _one(idx, "autobot_uptime_seconds"),
        "boot_time_seconds": _one(idx, "node_boot_time_seconds"),
    }
