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
    "netstat": "autobot_monitor.collectors.netstat:NetstatCollector",
    "sockstat": "autobot_monitor.collectors.sockstat:SockstatCollector",
    "vmstat": "autobot_monitor.collectors.vmstat:VmstatCollector",
    "pressure": "autobot_monitor.collectors.pressure:PressureCollector",
    "filefd": "autobot_monitor.collectors.sysctl:FilefdCollector",
    "entropy": "autobot_monitor.collectors.sysctl:EntropyCollector",
    "conntrack": "autobot_monitor.collectors.sysctl:ConntrackCollector",
    "timex": "autobot_monitor.collectors.timex:TimexCollector",
    "uname": "autobot_monitor.collectors.sysinfo:UnameCollector",
    "os": "autobot_monitor.collectors.sysinfo:OsCollector",
    "selinux": "autobot_monitor.collectors.sysinfo:SelinuxCollector",
    "time": "autobot_monitor.collectors.clock:TimeCollector",
    "softnet": "autobot_monitor.collectors.softnet:SoftnetCollector",
    "arp": "autobot_monitor.collectors.arp:ArpCollector",
    "udp_queues": "autobot_monitor.collectors.udp_queues:UdpQueuesCollector",
    "schedstat": "autobot_monitor.collectors.schedstat:SchedstatCollector",
    "process": "autobot_monitor.collectors.process:ProcessSelfCollector",
    "systemd": "autobot_monitor.collectors.systemd:SystemdCollector",
    "smart": "autobot_monitor.collectors.smart:SmartCollector",
    "containers": "autobot_monitor.collectors.containers:ContainersCollector",
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
