"""Writes the Grafana provisioning dashboards in deploy/grafana/dashboards/ (the JSON is committed;
tests/deploy/test_grafana.py fails when it is stale).  Run: python deploy/grafana/build_dashboards.py

Every dashboard selects its Prometheus data source through a ``datasource`` template variable
(``${datasource}``, no hard-coded uid) and its hosts through a ``host`` variable over the ``host``
label, which the hub puts on every series it re-exposes and deploy/prometheus/prometheus-at-scale.yml
sets per agent target.  Queries use only metric names the product emits (checked against
``autobot_monitor.catalog.is_known_metric`` by the test).  Panels from instrumented applications
(``autobot_operation_*``, inference counters) have no ``host`` label and are not host-filtered.
"""

from __future__ import annotations

import json
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards")
DS = {"type": "prometheus", "uid": "${datasource}"}
H = 'host=~"$host"'


def _var_datasource() -> dict:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "includeAll": False, "multi": False}


def _var_query(name: str, query: str, label: str, multi: bool = True) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": f"{name}-var"}, "definition": query,
            "refresh": 2, "sort": 1, "includeAll": multi, "multi": multi,
            "allValue": ".*" if multi else None, "current": {}, "hide": 0, "regex": ""}


HOST_VAR = _var_query("host", "label_values(node_load1, host)", "Host")


class Board:
    """Lays panels out left to right on a 24-column grid, ``h`` units high."""

    def __init__(self, uid: str, title: str, description: str, extra_vars: list[dict] | None = None):
        self.uid, self.title, self.description = uid, title, description
        self.vars = [_var_datasource(), HOST_VAR, *(extra_vars or [])]
        self.panels: list[dict] = []
        self._x = self._y = self._row_h = 0

    def _place(self, w: int, h: int) -> dict:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        pos = {"x": self._x, "y": self._y, "w": w, "h": h}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def row(self, title: str) -> None:
        if self._x:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1}})
        self._y += 1

    def panel(self, kind: str, title: str, exprs: list[tuple[str, str]], unit: str = "short",
              w: int = 12, h: int = 8, description: str = "", **opts) -> None:
        """``exprs``: [(PromQL, legend format)]."""
        defaults: dict = {"unit": unit}
        for k in ("min", "max", "decimals"):
            if k in opts:
                defaults[k] = opts.pop(k)
        if "thresholds" in opts:
            defaults["thresholds"] = {"mode": "absolute", "steps": opts.pop("thresholds")}
        if "mappings" in opts:
            defaults["mappings"] = opts.pop("mappings")
        p = {"type": kind, "title": title, "description": description, "datasource": DS,
             "gridPos": self._place(w, h),
             "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": lg,
                          **({"instant": True, "format": "table"} if kind == "table" else {})}
                         for i, (e, lg) in enumerate(exprs)],
             "fieldConfig": {"defaults": defaults, "overrides": []}, "options": opts}
        self.panels.append(p)

    def ts(self, title, exprs, unit="short", **kw):
        self.panel("timeseries", title, exprs, unit, **kw)

    def stat(self, title, exprs, unit="short", w=6, h=4, **kw):
        self.panel("stat", title, exprs, unit, w=w, h=h, **kw)

    def json(self) -> dict:
        for i, p in enumerate(self.panels, 1):
            p["id"] = i
        return {"uid": self.uid, "title": self.title, "description": self.description,
                "tags": ["autobot-monitor"], "editable": True, "schemaVersion": 39, "version": 1,
                "timezone": "browser", "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
                "graphTooltip": 1, "annotations": {"list": []}, "links": [
                    {"type": "dashboards", "tags": ["autobot-monitor"], "asDropdown": True,
                     "title": "autobot-monitor", "includeVars": True, "keepTime": True}],
                "templating": {"list": self.vars}, "panels": self.panels}


UP_MAP = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                        "1": {"text": "UP", "color": "green"}}}]
PCT_STEPS = [{"color": "green", "value": None}, {"color": "orange", "value": 80},
             {"color": "red", "value": 90}]


def host_overview() -> Board:
    b = Board("autobot-host-overview", "autobot-monitor / Host overview",
              "CPU, memory, disk, network, load, temperatures and top processes per host.")
    b.stat("Hosts up", [(f"sum(autobot_host_up{{{H}}})", "")], w=6)
    b.stat("Hosts down", [(f"count(autobot_host_up{{{H}}} == 0) or vector(0)", "")], w=6,
           thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
    b.stat("Uptime", [(f"autobot_uptime_seconds{{{H}}}", "{{host}}")], "s", w=12)
    b.row("CPU and memory")
    b.ts("CPU busy", [(f'autobot_cpu_busy_percent{{cpu="all",{H}}}', "{{host}}")], "percent",
         min=0, max=100, description="Share of CPU time not idle and not iowait, all CPUs.")
    b.ts("CPU by mode", [(f'avg by (host, mode) (autobot_cpu_utilization_percent{{cpu="all",{H}}})',
                          "{{host}} {{mode}}")], "percent", min=0)
    b.ts("Memory used", [(f"autobot_memory_used_percent{{{H}}}", "{{host}}")], "percent",
         min=0, max=100, description="(MemTotal - MemAvailable) / MemTotal.")
    b.ts("Swap used", [(f"autobot_swap_used_percent{{{H}}}", "{{host}}")], "percent", min=0, max=100)
    b.ts("Load average", [(f"node_load1{{{H}}}", "{{host}} 1m"), (f"node_load5{{{H}}}", "{{host}} 5m"),
                          (f"node_load15{{{H}}}", "{{host}} 15m")])
    b.ts("Processes by state", [(f"node_processes_state{{{H}}}", "{{host}} {{state}}")])
    b.row("Disks and filesystems")
    b.ts("Filesystem used", [(f"autobot_filesystem_used_percent{{{H}}}", "{{host}} {{mountpoint}}")],
         "percent", min=0, max=100)
    b.ts("Disk I/O busy", [(f"autobot_disk_io_utilization_percent{{{H}}}", "{{host}} {{device}}")],
         "percent", min=0, max=100)
    b.ts("Disk read", [(f"autobot_disk_read_bytes_per_second{{{H}}}", "{{host}} {{device}}")], "Bps")
    b.ts("Disk written", [(f"autobot_disk_written_bytes_per_second{{{H}}}", "{{host}} {{device}}")],
         "Bps")
    b.row("Network")
    b.ts("Received", [(f'autobot_network_receive_bytes_per_second{{device!="lo",{H}}}',
                       "{{host}} {{device}}")], "Bps")
    b.ts("Transmitted", [(f'autobot_network_transmit_bytes_per_second{{device!="lo",{H}}}',
                          "{{host}} {{device}}")], "Bps")
    b.ts("Errors and drops", [
        (f"rate(node_network_receive_errs_total{{{H}}}[$__rate_interval])", "{{host}} {{device}} rx errs"),
        (f"rate(node_network_transmit_errs_total{{{H}}}[$__rate_interval])", "{{host}} {{device}} tx errs"),
        (f"rate(node_network_receive_drop_total{{{H}}}[$__rate_interval])", "{{host}} {{device}} rx drop")],
        "pps")
    b.ts("Interfaces up", [(f"node_network_up{{{H}}}", "{{host}} {{device}}")], min=0, max=1)
    b.row("Temperatures and processes")
    b.ts("Hardware sensors", [(f"node_hwmon_temp_celsius{{{H}}}", "{{host}} {{chip}} {{sensor}}"),
                              (f"node_thermal_zone_temp{{{H}}}", "{{host}} {{type}}")], "celsius")
    b.panel("table", "Top processes by CPU", [(f"topk(10, autobot_process_cpu_percent{{{H}}})", "")],
            "percent", description="100 = one core; from the processes collector's last scan.")
    b.panel("table", "Top processes by memory",
            [(f"topk(10, autobot_process_resident_memory_bytes{{{H}}})", "")], "bytes", w=24)
    return b


def services() -> Board:
    svc = _var_query("service", f"label_values(autobot_service_up{{{H}}}, service)", "Service")
    S = f'{H},service=~"$service"'
    b = Board("autobot-services", "autobot-monitor / Services",
              "HTTP, TCP and Redis service checks run by the hub, and instrumented applications.",
              [svc])
    b.stat("Services up", [(f"sum(autobot_service_up{{{S}}})", "")], w=6)
    b.stat("Services down", [(f"count(autobot_service_up{{{S}}} == 0) or vector(0)", "")], w=6,
           thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
    b.stat("Availability (24 h)", [(f"avg_over_time(autobot_service_up{{{S}}}[24h]) * 100",
                                   "{{service}}")], "percent", w=12, decimals=2)
    b.panel("state-timeline", "Up / down", [(f"autobot_service_up{{{S}}}", "{{service}}")], w=24,
            mappings=UP_MAP)
    b.ts("Response time", [(f"autobot_service_response_time_seconds{{{S}}}", "{{service}} ({{type}})")],
         "s", description="Absent when nothing was measured (refused, timeout).")
    b.ts("HTTP status code", [(f"autobot_http_response_status_code{{{S}}}", "{{service}}")], decimals=0)
    b.row("Instrumented applications (autobot_monitor.recorders; not host-filtered)")
    b.ts("Operations per second", [
        ("sum by (job, operation, status) (rate(autobot_operations_total[$__rate_interval]))",
         "{{job}} {{operation}} {{status}}")], "ops")
    b.ts("Error ratio", [
        ('sum by (job, operation) (rate(autobot_operations_total{status!="ok"}[$__rate_interval]))'
         " / sum by (job, operation) (rate(autobot_operations_total[$__rate_interval]))",
         "{{job}} {{operation}}")], "percentunit", min=0)
    b.ts("Latency p50 / p99", [
        ("histogram_quantile(0.5, sum by (le, job, operation) "
         "(rate(autobot_operation_duration_seconds_bucket[$__rate_interval])))", "p50 {{job}} {{operation}}"),
        ("histogram_quantile(0.99, sum by (le, job, operation) "
         "(rate(autobot_operation_duration_seconds_bucket[$__rate_interval])))", "p99 {{job}} {{operation}}")],
        "s")
    b.ts("In progress", [("sum by (job, operation) (autobot_operations_in_progress)",
                          "{{job}} {{operation}}")])
    return b


def redis() -> Board:
    svc = _var_query("service", f"label_values(autobot_redis_ping_seconds{{{H}}}, service)", "Redis")
    S = f'{H},service=~"$service"'
    b = Board("autobot-redis", "autobot-monitor / Redis",
              "Figures from the hub's Redis checks (PING and INFO).", [svc])
    b.panel("table", "Servers", [(f"autobot_redis_info{{{S}}}", "")], w=12, h=4)
    b.stat("Uptime", [(f"autobot_redis_uptime_seconds{{{S}}}", "{{service}}")], "s", w=12)
    b.ts("PING round trip", [(f"autobot_redis_ping_seconds{{{S}}}", "{{service}}")], "s")
    b.ts("Commands per second", [
        (f"rate(autobot_redis_commands_processed_total{{{S}}}[$__rate_interval])", "{{service}} rate"),
        (f"autobot_redis_instantaneous_ops_per_second{{{S}}}", "{{service}} instantaneous")], "ops")
    b.ts("Memory", [(f"autobot_redis_memory_used_bytes{{{S}}}", "{{service}} used"),
                    (f"autobot_redis_memory_max_bytes{{{S}}}", "{{service}} maxmemory")], "bytes")
    b.ts("Fragmentation ratio", [(f"autobot_redis_memory_fragmentation_ratio{{{S}}}", "{{service}}")])
    b.ts("Clients", [(f"autobot_redis_connected_clients{{{S}}}", "{{service}} connected"),
                     (f"autobot_redis_blocked_clients{{{S}}}", "{{service}} blocked")])
    b.ts("Keyspace hit ratio", [
        (f"rate(autobot_redis_keyspace_hits_total{{{S}}}[$__rate_interval]) / "
         f"(rate(autobot_redis_keyspace_hits_total{{{S}}}[$__rate_interval]) + "
         f"rate(autobot_redis_keyspace_misses_total{{{S}}}[$__rate_interval]))", "{{service}} window"),
        (f"autobot_redis_keyspace_hit_ratio{{{S}}}", "{{service}} since start")], "percentunit",
        min=0, max=1)
    b.ts("Evicted and expired keys", [
        (f"rate(autobot_redis_evicted_keys_total{{{S}}}[$__rate_interval])", "{{service}} evicted"),
        (f"rate(autobot_redis_expired_keys_total{{{S}}}[$__rate_interval])", "{{service}} expired")],
        "ops")
    b.ts("Keys per database", [(f"autobot_redis_db_keys{{{S}}}", "{{service}} {{db}}"),
                               (f"autobot_redis_db_expiring_keys{{{S}}}", "{{service}} {{db}} with TTL")])
    return b


def gpu_npu() -> Board:
    b = Board("autobot-gpu-npu", "autobot-monitor / GPU and NPU",
              "NVML figures per GPU and NPU busy time; fields a device does not support are absent.")
    G = H
    b.stat("GPU available", [(f"autobot_gpu_available{{{G}}}", "{{host}}")], w=12, mappings=UP_MAP)
    b.stat("NPU available", [(f"autobot_npu_available{{{G}}}", "{{host}}")], w=12, mappings=UP_MAP)
    b.row("GPU")
    b.panel("table", "GPUs", [(f"autobot_gpu_info{{{G}}}", "")], w=24, h=5)
    b.ts("GPU utilization", [(f"autobot_gpu_utilization_percent{{{G}}}", "{{host}} gpu{{gpu}}")],
         "percent", min=0, max=100)
    b.ts("GPU memory utilization",
         [(f"autobot_gpu_memory_utilization_percent{{{G}}}", "{{host}} gpu{{gpu}}")], "percent",
         min=0, max=100)
    b.ts("GPU memory", [(f"autobot_gpu_memory_used_bytes{{{G}}}", "{{host}} gpu{{gpu}} used"),
                        (f"autobot_gpu_memory_total_bytes{{{G}}}", "{{host}} gpu{{gpu}} total")], "bytes")
    b.ts("Temperature", [(f"autobot_gpu_temperature_celsius{{{G}}}", "{{host}} gpu{{gpu}}")], "celsius")
    b.ts("Power", [(f"autobot_gpu_power_watts{{{G}}}", "{{host}} gpu{{gpu}} draw"),
                   (f"autobot_gpu_power_limit_watts{{{G}}}", "{{host}} gpu{{gpu}} limit")], "watt")
    b.ts("SM clock", [(f"autobot_gpu_clock_sm_hertz{{{G}}}", "{{host}} gpu{{gpu}}")], "hertz")
    b.ts("Fan", [(f"autobot_gpu_fan_speed_percent{{{G}}}", "{{host}} gpu{{gpu}}")], "percent")
    b.ts("Active throttle reasons", [(f"autobot_gpu_throttle_reasons{{{G}}} == 1",
                                      "{{host}} gpu{{gpu}} {{reason}}")], min=0, max=1)
    b.row("NPU")
    b.ts("NPU utilization", [(f"autobot_npu_utilization_percent{{{G}}}", "{{host}} {{npu}}")],
         "percent", min=0, max=100)
    b.ts("NPU busy (rate of busy time)", [
        (f"rate(autobot_npu_busy_seconds_total{{{G}}}[$__rate_interval])", "{{host}} {{npu}}")],
        "percentunit", min=0, max=1)
    b.row("Inference (instrumented applications; not host-filtered)")
    b.ts("Inferences per second", [
        ("sum by (job, model_type) (rate(autobot_gpu_inference_total[$__rate_interval]))",
         "GPU {{job}} {{model_type}}"),
        ("sum by (job, model_type) (rate(autobot_npu_inference_total[$__rate_interval]))",
         "NPU {{job}} {{model_type}}")], "ops")
    b.ts("Inference latency p90", [
        ("histogram_quantile(0.9, sum by (le, job) "
         "(rate(autobot_inference_duration_seconds_bucket[$__rate_interval])))", "{{job}}")], "s")
    return b


def alerts() -> Board:
    b = Board("autobot-alerts", "autobot-monitor / Alerts",
              "The hub's alert engine: active alerts, alerts raised, rule evaluation, notifications. "
              "These are hub-level series; only the host panel follows the host variable.")
    b.stat("Active critical", [('sum(autobot_active_alerts{severity="critical"})', "")], w=6,
           thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
    b.stat("Active high", [('sum(autobot_active_alerts{severity="high"})', "")], w=6,
           thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}])
    b.stat("Active medium + low", [('sum(autobot_active_alerts{severity=~"medium|low"})', "")], w=6)
    b.stat("Hosts down", [(f"count(autobot_host_up{{{H}}} == 0) or vector(0)", "")], w=6,
           thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
    b.ts("Active alerts by severity", [("sum by (severity) (autobot_active_alerts)", "{{severity}}")])
    b.ts("Alerts raised per hour", [
        ("sum by (severity, category) (increase(autobot_performance_alerts_total[1h]))",
         "{{severity}} {{category}}")])
    b.ts("Series per rule", [("autobot_alert_rule_series", "{{rule}}")])
    b.ts("Rule evaluation time", [("autobot_alert_evaluation_duration_seconds", "evaluation")], "s")
    b.ts("Notifications", [("sum by (channel, result) (rate(autobot_notifications_total[$__rate_interval]))",
                            "{{channel}} {{result}}")], "ops")
    b.panel("state-timeline", "Hosts", [(f"autobot_host_up{{{H}}}", "{{host}}")], mappings=UP_MAP)
    return b


BOARDS = {"host-overview": host_overview, "services": services, "redis": redis,
          "gpu-npu": gpu_npu, "alerts": alerts}


def render_all() -> dict[str, str]:
    """``{file name: JSON text}`` for every dashboard."""
    return {f"autobot-{name}.json": json.dumps(fn().json(), indent=2, sort_keys=True) + "\n"
            for name, fn in BOARDS.items()}


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    for name, text in render_all().items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.join(OUT, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
