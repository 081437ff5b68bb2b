"""Built-in collectors, one module each, registered here by name.

The registry maps a collector name to ``module:Class``; classes are imported lazily so a missing
optional source never breaks the others. Names are unique (a duplicate is a programming error).
"""

from __future__ import annotations

import importlib
import logging

from .base import Collector, CollectorContext

log = logging.getLogger(__name__)

REGISTRY: dict[str, str] = {
    "cpu": "autobot_monitor.collectors.cpu:CpuCollector",
    "cpufreq": "autobot_monitor.collectors.cpufreq:CpufreqCollector",
    "loadavg": "autobot_monitor.collectors.loadavg:LoadavgCollector",
    "memory": "autobot_monitor.collectors.memory:MemoryCollector",
    "filesystem": "autobot_monitor.collectors.filesystem:FilesystemCollector",
    "diskstats": "autobot_monitor.collectors.diskstats:DiskstatsCollector",
    "netdev": "autobot_monitor.collectors.netdev:NetdevCollector",
    "netclass": "autobot_monitor.collectors.netclass:NetclassCollector",
    "processes": "autobot_monitor.collectors.processes:ProcessesCollector",
    "uptime": "autobot_monitor.collectors.uptime:UptimeCollector",
    "sensors": "autobot_monitor.collectors.sensors:SensorsCollector",
    "dmi": "autobot_monitor.collectors.dmi:DmiCollector",
    "textfile": "autobot_monitor.collectors.textfile:TextfileCollector",
    "gpu": "autobot_monitor.collectors.gpu:GpuCollector",
    "npu": "autobot_monitor.collectors.npu:NpuCollector",
}


def collector_class(name: str) -> type[Collector]:
    """The class registered as ``name``. Raises ``KeyError`` for an unknown name."""
    target = REGISTRY[name]
    mod_name, cls_name = target.split(":")
    return getattr(importlib.import_module(mod_name), cls_name)


def available() -> list[str]:
    """Names of registered collectors whose module imports."""
    out = []
    for name in REGISTRY:
        try:
            collector_class(name)
        except (ImportError, AttributeError):
            continue
        out.append(name)
    return out


def build(ctx: CollectorContext, enabled: list[str] | None = None,
          disabled: list[str] | None = None) -> list[Collector]:
    """Instantiate the enabled collectors (all available ones by default) minus ``disabled``."""
    names = enabled if enabled is not None else available()
    out: list[Collector] = []
    for n in names:
        if disabled and n in disabled:
            continue
        try:
            out.append(collector_class(n)(ctx))
        except (ImportError, AttributeError) as e:
            log.warning("collector %s unavailable: %s", n, e)
    return out
