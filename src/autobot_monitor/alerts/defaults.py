"""Default rules: the spec's thresholds plus the usual service and host conditions.

``for`` durations scale with the monitoring interval (three cycles for resource rules, two for
up/down rules) so a single noisy reading never fires and a 1 s test setup reacts in seconds.

Host health rules (systemd units, S.M.A.R.T.) follow node_exporter's mixin for systemd (a unit
failed for 5 minutes, a service restarted more than twice in 5 minutes for 15 minutes) and fire
on the first S.M.A.R.T. reading that says a disk is failing: that verdict is the drive's own, not
a noisy sample, and the collector reads it only every few minutes.

CPU and memory rules judge a sustained average, not raw cycles: the mean of the stored readings
over :data:`RESOURCE_WINDOW` (5 min, between Beszel's 1 min and Netdata's 10 min averages), so a
busy machine's bursts neither fire nor keep a pending alert flipping back and forth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import RuleConfig

if TYPE_CHECKING:
    from ..config.models import AlertThresholds, MonitorConfig


def effective_rules(cfg: MonitorConfig) -> list[RuleConfig]:
    """Default rules (unless ``alerting.default_rules`` is false) plus the configured ones; a
    configured rule with a default's name replaces it."""
    own = {r.name for r in cfg.rules}
    base = default_rules(cfg.alert_thresholds, cfg.monitoring_interval) \
        + host_rules(cfg.monitoring_interval) if cfg.alerting.default_rules else []
    if cfg.alerting.default_rules and cfg.hosts:  # the mesh exists only with agents
        base += mesh_rules(cfg.monitoring_interval)
    return [r for r in base if r.name not in own] + list(cfg.rules)


def mesh_rules(interval: float) -> list[RuleConfig]:
    """Latency-mesh rules: loss over 5 % and p50 RTT over the spec's 5 ms inter-VM baseline, per
    (host, peer, method), for three cycles."""
    r = RuleConfig.model_validate
    return [
        r({"name": "PacketLoss", "metric": "autobot_mesh_loss_ratio", "op": ">", "threshold": 0.05,
           "clear": 0.02, "for": 3 * interval, "severity": "high", "category": "network",
           "summary": "{{ host }} -> {{ peer }} ({{ method }}): loss ratio {{ value }} of probes"}),
        r({"name": "HighLatency", "metric": "autobot_mesh_rtt_seconds", "match": ["quantile=0.5"],
           "op": ">", "threshold": 0.005, "clear": 0.004, "for": 3 * interval, "severity": "medium",
           "category": "network",
           "summary": "{{ host }} -> {{ peer }} ({{ method }}) p50 RTT {{ value }} s (baseline 5 ms)"}),
    ]


RESOURCE_WINDOW = 300.0  # seconds averaged by the CPU and memory rules


def default_rules(t: AlertThresholds, interval: float) -> list[RuleConfig]:
    """The built-in rules for thresholds ``t`` at ``interval`` seconds per cycle."""
    res, down = 3 * interval, 1 * interval
    r = RuleConfig.model_validate
    return [
        r({"name": "HighCpuUsage", "metric": "autobot_cpu_busy_percent", "match": ["cpu=all"],
           "fn": "avg", "window": RESOURCE_WINDOW, "op": ">", "threshold": t.cpu_percent,
           "clear": max(0.0, t.cpu_percent - 5), "for": res, "severity": "high", "category": "cpu",
           "summary": "CPU busy {{ value }}% on average over 5 m on {{ host }} "
                      "(threshold {{ threshold }}%)"}),
        r({"name": "HighMemoryUsage", "metric": "autobot_memory_used_percent", "fn": "avg",
           "window": RESOURCE_WINDOW, "op": ">", "threshold": t.memory_percent,
           "clear": max(0.0, t.memory_percent - 5), "for": res, "severity": "high",
           "category": "memory",
           "summary": "memory {{ value }}% used on average over 5 m on {{ host }} "
                      "(threshold {{ threshold }}%)"}),
        r({"name": "HighDiskUsage", "metric": "autobot_filesystem_used_percent", "op": ">",
           "threshold": t.disk_percent, "clear": max(0.0, t.disk_percent - 2), "for": res,
           "severity": "high", "category": "disk",
           "summary": "{{ mountpoint }} {{ value }}% full on {{ host }}"}),
        r({"name": "FilesystemFillingUp", "metric": "autobot_filesystem_used_percent",
           "fn": "time_to_threshold", "target": 100, "window": "6h", "op": "<",
           "threshold": 4 * 3600, "for": res, "severity": "medium", "category": "disk",
           "summary": "{{ mountpoint }} on {{ host }} full in {{ value }} at the current rate"}),
        r({"name": "SlowResponse", "metric": "autobot_service_response_time_seconds", "op": ">",
           "threshold": t.api_response_time, "for": res, "severity": "medium",
           "category": "service", "summary": "{{ service }} answered in {{ value }} s"}),
        r({"name": "ServiceDown", "metric": "autobot_service_up", "op": "<", "threshold": 1,
           "for": down, "severity": "critical", "category": "service",
           "summary": "service {{ service }} ({{ type }}) is down"}),
        r({"name": "HostDown", "metric": "autobot_host_up", "op": "<", "threshold": 1,
           "for": down, "severity": "critical", "category": "availability",
           "priority_escalation": False, "summary": "host {{ host }} ({{ role }}) is not reporting"}),
        r({"name": "TargetDown", "metric": "up", "match": ["job!=autobot-agent"], "op": "<",
           "threshold": 1, "for": down, "severity": "high", "category": "availability",
           "summary": "target {{ instance }} (job {{ job }}) is down"}),
        # averaged over 5 minutes: one PING is timed from the hub's event loop, so a single
        # reading on a busy hub includes its own scheduling delay
        r({"name": "RedisSlow", "metric": "autobot_redis_ping_seconds", "fn": "avg", "window": "5m",
           "op": ">", "threshold": 0.010, "for": res, "severity": "medium", "category": "database",
           "summary": "Redis {{ service }} PING averaged {{ value }} s over 5 m (baseline 10 ms)"}),
        r({"name": "RedisEvictingKeys", "metric": "autobot_redis_evicted_keys_total", "fn": "rate",
           "window": "5m", "op": ">", "threshold": 0, "for": res, "severity": "medium",
           "category": "database", "summary": "Redis {{ service }} evicts {{ value }} keys/s"}),
    ] + host_health_rules(interval)


def host_health_rules(interval: float) -> list[RuleConfig]:
    """systemd unit and disk health rules (``systemd`` and ``smart`` collectors) at ``interval``
    seconds per cycle."""
    r = RuleConfig.model_validate
    return [
        r({"name": "SystemdUnitFailed", "metric": "node_systemd_unit_state",
           "match": ["state=failed"], "op": "==", "threshold": 1, "for": "5m", "severity": "high",
           "category": "service",
           "summary": "systemd unit {{ name }} on {{ host }} has entered the failed state"}),
        r({"name": "SystemdServiceCrashlooping", "metric": "node_systemd_service_restart_total",
           "fn": "rate", "window": "5m", "op": ">", "threshold": 2 / 300, "for": "15m",
           "severity": "medium", "category": "service",
           "summary": "systemd service {{ name }} on {{ host }} restarts {{ value }} times/s "
                      "(more than 2 in 5 m)"}),
        r({"name": "SmartDeviceFailing", "metric": "smartctl_device_smart_status", "op": "==",
           "threshold": 0, "for": interval, "severity": "critical", "category": "disk",
           "summary": "disk {{ device }} on {{ host }}: S.M.A.R.T. overall health FAILED"}),
        r({"name": "SmartPendingSectors", "metric": "smartctl_device_attribute",
           "match": ["attribute_name=Current_Pending_Sector", "attribute_value_type=raw"],
           "op": ">", "threshold": 0, "for": interval, "severity": "medium", "category": "disk",
           "summary": "disk {{ device }} on {{ host }} has {{ value }} sectors pending "
                      "reallocation"}),
    ]


def host_rules(interval: float) -> list[RuleConfig]:
    """Kernel-side trouble a host reports through node_exporter's families (and cAdvisor's for
    containers): OOM kills, pressure stall (PSI) shares, TCP retransmissions and clock sync.

    Thresholds, each judged over 5 minutes of stored readings so one noisy cycle never fires:

    * ``OomKill`` / ``ContainerOomKill``: any OOM kill (``node_vmstat_oom_kill``, the kernel's
      ``oom_kill`` counter in /proc/vmstat; ``container_oom_events_total`` per cgroup) in the last
      5 m: high, firing until 5 m without a kill.
    * ``MemoryPressure``: every non-idle task stalled on memory more than 10 % of the time
      (``node_pressure_memory_stalled_seconds_total``, PSI "full"); ``IoPressure``: the same for
      I/O over 25 %; ``CpuPressure``: some task waited for a CPU more than 80 % of the time
      (PSI "some" of /proc/pressure/cpu). Medium; memory high.
    * ``TcpRetransmits``: retransmitted segments over 5 % of segments sent, averaged over 5 m
      (``autobot_tcp_retransmit_percent``, from /proc/net/snmp's RetransSegs and OutSegs).
    * ``ClockNotSynchronising``: the kernel says the clock is not synchronised
      (``node_timex_sync_status``, adjtimex(2)) all of the last 5 m, for 10 m (node-mixin's rule);
      ``ClockSkew`` / ``ClockSkewBehind``: the offset NTP measures is over 50 ms either way for
      10 m.
    """
    res = 3 * interval
    r = RuleConfig.model_validate
    return [
        r({"name": "OomKill", "metric": "node_vmstat_oom_kill", "fn": "rate", "window": "5m",
           "op": ">", "threshold": 0, "for": 0, "severity": "high", "category": "memory",
           "summary": "the kernel OOM killer killed a process on {{ host }} in the last 5 m"}),
        r({"name": "ContainerOomKill", "metric": "container_oom_events_total", "fn": "rate",
           "window": "5m", "op": ">", "threshold": 0, "for": 0, "severity": "high",
           "category": "memory",
           "summary": "container {{ name }} on {{ host }} hit its memory limit (OOM kill) in the "
                      "last 5 m"}),
        r({"name": "MemoryPressure", "metric": "node_pressure_memory_stalled_seconds_total",
           "fn": "rate", "window": "5m", "op": ">", "threshold": 0.10, "clear": 0.05,
           "for": res, "severity": "high", "category": "memory",
           "summary": "all tasks on {{ host }} stalled on memory {{ value }} of the time (5 m)"}),
        r({"name": "IoPressure", "metric": "node_pressure_io_stalled_seconds_total",
           "fn": "rate", "window": "5m", "op": ">", "threshold": 0.25, "clear": 0.15,
           "for": res, "severity": "medium", "category": "disk",
           "summary": "all tasks on {{ host }} stalled on I/O {{ value }} of the time (5 m)"}),
        r({"name": "CpuPressure", "metric": "node_pressure_cpu_waiting_seconds_total",
           "fn": "rate", "window": "5m", "op": ">", "threshold": 0.80, "clear": 0.70,
           "for": res, "severity": "medium", "category": "cpu",
           "summary": "tasks on {{ host }} waited for a CPU {{ value }} of the time (5 m)"}),
        r({"name": "TcpRetransmits", "metric": "autobot_tcp_retransmit_percent", "fn": "avg",
           "window": "5m", "op": ">", "threshold": 5, "clear": 3, "for": res,
           "severity": "medium", "category": "network",
           "summary": "{{ host }} retransmits {{ value }}% of TCP segments (5 m average)"}),
        r({"name": "ClockNotSynchronising", "metric": "node_timex_sync_status", "fn": "max",
           "window": "5m", "op": "<", "threshold": 1, "for": "10m", "severity": "medium",
           "category": "time",
           "summary": "the clock of {{ host }} is not synchronised (NTP); check the time daemon"}),
        r({"name": "ClockSkew", "metric": "node_timex_offset_seconds", "fn": "max",
           "window": "5m", "op": ">", "threshold": 0.05, "for": "10m", "severity": "medium",
           "category": "time", "summary": "the clock of {{ host }} is {{ value }} s ahead (NTP)"}),
        r({"name": "ClockSkewBehind", "metric": "node_timex_offset_seconds", "fn": "min",
           "window": "5m", "op": "<", "threshold": -0.05, "for": "10m", "severity": "medium",
           "category": "time", "summary": "the clock of {{ host }} is {{ value }} s off (NTP)"}),
    ]
