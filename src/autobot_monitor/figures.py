"""The figures the product shows people, declared once.

Every number on the dashboard, in ``autobot-monitor status``, in a host's ``summary`` of
``GET /api/metrics/current`` and in a report's trends is one row of :data:`HOST_TABLE` (per
host) or of :data:`OTHER_FIGURES` (per service, per process). A :class:`Figure` says where the
number comes from:

* ``metrics``: the source metric(s), read as stored (derived metrics such as
  ``autobot_cpu_busy_percent`` are computed by their collector, over the collection interval);
* ``match``: label filters ``(label, op, value)`` with ``op`` ``=`` or ``!=``, evaluated as
  :class:`.matchers.Matcher` (Prometheus semantics: an absent label reads as ``""``), as
  ``label=value`` strings in JSON and queries;
* ``agg``: how one host's selected series combine into the figure: ``max``, ``sum``, ``mean``
  of the finite values, or ``count`` of the distinct values of ``count_label``; no finite value
  (or nothing to count) is ``None``, "not measured", never 0;
* ``unit`` (a base-unit word of :mod:`.model`, ``""`` for counts and load), ``precision``
  (decimals people see), ``title``;
* ``report``: the key reports file its step averages under (``""``: not in reports).

A :class:`Group` is a per-item list in the summary (filesystems, GPUs, NPUs): one item per
sample of its ``anchor`` metric, named by the anchor's ``labels``; each member figure is read
from the host's series whose ``by`` label equals the item's.

Consumers: :mod:`.hub.summary` evaluates the table, :mod:`.status_view` prints it, the
dashboard reads it from ``GET /api/figures`` (:func:`to_json`) and :mod:`.report.resources`
takes its trend metrics from it. ``tests/test_figures.py`` checks every source metric and filter
label against the metric catalogue. Imports only :mod:`.model` and :mod:`.matchers`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .matchers import Matcher, match_all
from .model import LABEL_NAME_RE, METRIC_NAME_RE

Agg = Literal["max", "sum", "mean", "count"]
Scope = Literal["host", "service", "process"]
Op = Literal["=", "!="]
Match = tuple[tuple[str, Op, str], ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure; see the module docstring for the fields. ``key`` is its dotted path in a host
    summary (``memory.used_percent``), or its field name inside a :class:`Group` item.
    Raises ValueError on construction for a bad metric or label name or a count without label."""

    key: str
    metrics: tuple[str, ...]
    unit: str = ""
    agg: Agg = "max"
    match: Match = ()
    precision: int = 1
    title: str = ""
    count_label: str = ""
    report: str = ""
    scope: Scope = "host"
    selector: tuple[Matcher, ...] = field(init=False, repr=False, compare=False)
    """``match`` as :class:`~.matchers.Matcher` values (built from ``match``)."""

    def __post_init__(self) -> None:
        bad = [m for m in self.metrics if not METRIC_NAME_RE.match(m)]
        bad += [lab for lab, _, _ in self.match if not LABEL_NAME_RE.match(lab)]
        if bad or not self.metrics or (self.agg == "count") != bool(self.count_label):
            raise ValueError(f"figure {self.key}: bad declaration ({', '.join(bad) or self.agg})")
        object.__setattr__(self, "selector", tuple(Matcher.make(*m) for m in self.match))

    @property
    def matchers(self) -> list[str]:
        """The label filters as query strings: ``["device!=lo"]``."""
        return [str(m) for m in self.selector]

    def selects(self, labels: Mapping[str, str]) -> bool:
        """True when a series with ``labels`` passes every filter."""
        return match_all(self.selector, labels)


@dataclass(frozen=True, slots=True)
class Group:
    """A per-item list in the host summary under ``key``: one item per ``anchor`` sample, whose
    ``labels`` are copied into the item (``None`` when absent) and, when ``anchor.key`` is set,
    whose value is the item's ``anchor.key`` field; then one field per member figure, read from
    the series whose ``by`` label is the item's."""

    key: str
    anchor: Figure
    by: str
    labels: tuple[str, ...]
    figures: tuple[Figure, ...] = ()
    anchor_value: float | None = None
    """Only anchor samples of this value make items (``node_systemd_unit_state`` 1 with
    ``state=failed``: the failed units); None: every anchor sample that passes its filters."""


def combine(agg: Agg, values: Iterable[float]) -> float | None:
    """``max``/``sum``/``mean`` of the finite ``values``; ``None`` when there is none. (``count``
    counts label values, see :func:`count_values`; here it counts the finite values.)"""
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return None
    if agg == "max":
        return max(vals)
    if agg == "sum":
        return sum(vals)
    if agg == "mean":
        return sum(vals) / len(vals)
    return float(len(vals))


def count_values(label: str, labelsets: Iterable[Mapping[str, str]]) -> int | None:
    """How many distinct values of ``label`` the label sets carry; ``None`` for none."""
    n = len({ls[label] for ls in labelsets if label in ls})
    return n or None


_PCT = "percent"
_BPS = "bytes_per_second"


def _fs() -> Group:
    def f(key: str, metric: str, unit: str, title: str) -> Figure:
        return Figure(key, (metric,), unit, precision=1 if unit == _PCT else 0, title=title)
    return Group("filesystems", f("size_bytes", "node_filesystem_size_bytes", "bytes", "Size"),
                 "mountpoint", ("mountpoint", "device", "fstype"),
                 (f("avail_bytes", "node_filesystem_avail_bytes", "bytes", "Available"),
                  f("used_percent", "autobot_filesystem_used_percent", _PCT, "Used")))


def _gpus() -> Group:
    def f(key: str, metric: str, unit: str, title: str, report: str = "") -> Figure:
        return Figure(key, (metric,), unit, "mean", precision=1 if unit in (_PCT, "watts") else 0,
                      title=title, report=report)
    return Group("gpus", Figure("", ("autobot_gpu_info",), precision=0), "gpu", ("gpu", "name"), (
        f("utilization_percent", "autobot_gpu_utilization_percent", _PCT, "GPU utilisation",
          "gpu_utilization_percent"),
        f("memory_used_bytes", "autobot_gpu_memory_used_bytes", "bytes", "GPU memory used"),
        f("memory_total_bytes", "autobot_gpu_memory_total_bytes", "bytes", "GPU memory"),
        f("temperature_celsius", "autobot_gpu_temperature_celsius", "celsius", "GPU temperature"),
        f("power_watts", "autobot_gpu_power_watts", "watts", "GPU power")))


def _npus() -> Group:
    util = Figure("utilization_percent", ("autobot_npu_utilization_percent",), _PCT,
                  title="NPU utilisation")
    return Group("npus", util, "npu", ("npu",))


def _disks() -> Group:
    """S.M.A.R.T. health per device (smartctl_exporter's families): ``smart_status`` 1 passed,
    0 failed; a device without S.M.A.R.T. has no item."""
    def f(key: str, metric: str, unit: str, title: str, match: Match = ()) -> Figure:
        return Figure(key, (metric,), unit, match=match, precision=0, title=title)
    return Group("disks", f("smart_status", "smartctl_device_smart_status", "", "S.M.A.R.T. passed"),
                 "device", ("device",), (
        f("temperature_celsius", "smartctl_device_temperature", "celsius", "Disk temperature",
          (("temperature_type", "=", "current"),)),
        f("power_on_seconds", "smartctl_device_power_on_seconds", "seconds", "Power-on time"),
        f("percentage_used", "smartctl_device_percentage_used", _PCT, "NVMe wear (used)"),
        f("media_errors", "smartctl_device_media_errors", "", "Media errors"),
        f("critical_warning", "smartctl_device_critical_warning", "", "NVMe critical warning")))


def _containers() -> Group:
    """Containers and services by cgroup (cAdvisor's families, ``id`` = the cgroup path); a
    limit that is not set is ``None`` (no limit), never 100 % of "max"."""
    def f(key: str, metric: str, unit: str, title: str, precision: int = 0) -> Figure:
        return Figure(key, (metric,), unit, precision=precision, title=title)
    return Group("containers", Figure("", ("container_cpu_usage_seconds_total",), "seconds",
                                      precision=0),
                 "id", ("id", "name"), (
        f("cpu_percent", "autobot_container_cpu_percent", _PCT, "Container CPU", 1),
        f("cpu_limit_cores", "autobot_container_cpu_limit_cores", "", "CPU limit (cores)", 2),
        f("memory_working_set_bytes", "container_memory_working_set_bytes", "bytes",
          "Container memory (working set)"),
        f("memory_limit_bytes", "container_spec_memory_limit_bytes", "bytes", "Memory limit"),
        f("oom_events", "container_oom_events_total", "", "OOM kills"),
        f("processes", "container_processes", "", "Processes")))


def _failed_units() -> Group:
    """The systemd units in the ``failed`` state (``node_systemd_unit_state`` 1)."""
    return Group("failed_units", Figure("", ("node_systemd_unit_state",),
                                        match=(("state", "=", "failed"),), precision=0),
                 "name", ("name", "type"), anchor_value=1.0)


def _pressure() -> tuple[Figure, ...]:
    """PSI shares of time since the previous collection, per resource (``some``: waiting;
    ``full``: stalled, not for cpu, as node_exporter 1.5)."""
    out = []
    for res, kinds in (("cpu", ("waiting",)), ("memory", ("waiting", "stalled")),
                       ("io", ("waiting", "stalled"))):
        for kind in kinds:
            out.append(Figure(f"pressure.{res}_{kind}_percent",
                              (f"autobot_pressure_{kind}_percent",), _PCT,
                              match=(("resource", "=", res),),
                              title=f"{res.upper() if res != 'memory' else 'Memory'} pressure "
                                    f"({'some' if kind == 'waiting' else 'full'})"))
    return tuple(out)


def _load(n: int) -> Figure:
    return Figure(f"load{n}", (f"node_load{n}",), precision=2, title=f"Load ({n} min)")


def _rate(key: str, metric: str, title: str, report: str = "", match: Match = ()) -> Figure:
    return Figure(key, (metric,), _BPS, "sum", match, title=title, report=report)


_NOT_LO: Match = (("device", "!=", "lo"),)

HOST_TABLE: tuple[Figure | Group, ...] = (
    Figure("cpu_percent", ("autobot_cpu_busy_percent",), _PCT, match=(("cpu", "=", "all"),),
           title="CPU busy", report="cpu_percent"),
    Figure("cpu_count", ("node_cpu_seconds_total",), agg="count", count_label="cpu", precision=0,
           title="CPUs"),
    _load(1), _load(5), _load(15),
    Figure("memory.total_bytes", ("node_memory_MemTotal_bytes",), "bytes", precision=0,
           title="Memory"),
    Figure("memory.available_bytes", ("node_memory_MemAvailable_bytes",), "bytes", precision=0,
           title="Memory available"),
    Figure("memory.used_percent", ("autobot_memory_used_percent",), _PCT, title="Memory used",
           report="memory_percent"),
    Figure("memory.swap_used_percent", ("autobot_swap_used_percent",), _PCT, title="Swap used"),
    _fs(),
    Figure("disk_used_percent_max", ("autobot_filesystem_used_percent",), _PCT,
           title="Fullest filesystem", report="disk_used_percent"),
    _rate("disk_io.read_bytes_per_second", "autobot_disk_read_bytes_per_second", "Disk read"),
    _rate("disk_io.written_bytes_per_second", "autobot_disk_written_bytes_per_second", "Disk write"),
    _rate("network.receive_bytes_per_second", "autobot_network_receive_bytes_per_second",
          "Network receive", "network_receive_bytes_per_second", _NOT_LO),
    _rate("network.transmit_bytes_per_second", "autobot_network_transmit_bytes_per_second",
          "Network transmit", "network_transmit_bytes_per_second", _NOT_LO),
    Figure("gpu_available", ("autobot_gpu_available",), precision=0, title="GPU available"),
    _gpus(),
    Figure("npu_available", ("autobot_npu_available",), precision=0, title="NPU available"),
    _npus(),
    Figure("temperature_max_celsius", ("node_hwmon_temp_celsius", "node_thermal_zone_temp"),
           "celsius", precision=0, title="Hottest sensor"),
    Figure("processes", ("node_processes_pids",), precision=0, title="Processes"),
    *_pressure(),
    Figure("tcp_retransmit_percent", ("autobot_tcp_retransmit_percent",), _PCT, precision=2,
           title="TCP retransmitted"),
    Figure("clock.synchronised", ("node_timex_sync_status",), precision=0,
           title="Clock synchronised"),
    Figure("clock.offset_seconds", ("node_timex_offset_seconds",), "seconds", precision=3,
           title="Clock offset"),
    Figure("units.failed", ("node_systemd_units",), match=(("state", "=", "failed"),),
           precision=0, title="Failed units"),
    _failed_units(),
    _disks(),
    _containers(),
    Figure("uptime_seconds", ("autobot_uptime_seconds",), "seconds", precision=0, title="Uptime"),
    Figure("boot_time_seconds", ("node_boot_time_seconds",), "seconds", precision=0,
           title="Boot time"),
)
"""Per-host figures in the order of the summary's keys."""

OTHER_FIGURES: tuple[Figure, ...] = (
    Figure("response_time_seconds", ("autobot_service_response_time_seconds",), "seconds",
           precision=3, title="Service response time", report="service_response_time_seconds",
           scope="service"),
    Figure("process_cpu_percent", ("autobot_process_cpu_percent",), _PCT, "sum",
           title="Process CPU", report="process_cpu_percent", scope="process"),
    Figure("process_resident_memory_bytes", ("autobot_process_resident_memory_bytes",), "bytes",
           "sum", precision=0, title="Process memory", report="process_resident_memory_bytes",
           scope="process"),
)
"""Figures of services and processes (series per service or per process, not per host)."""


def all_figures() -> list[tuple[Group | None, Figure]]:
    """Every figure with the group it belongs to (``None`` at top level), anchors included."""
    out: list[tuple[Group | None, Figure]] = []
    for row in HOST_TABLE:
        if isinstance(row, Group):
            out += [(row, f) for f in (row.anchor, *row.figures)]
        else:
            out.append((None, row))
    return out + [(None, f) for f in OTHER_FIGURES]


def figure(key: str) -> Figure:
    """The figure at dotted ``key`` (``gpus.utilization_percent`` inside a group); KeyError if
    none."""
    for g, f in all_figures():
        if f.key and (f"{g.key}.{f.key}" if g else f.key) == key:
            return f
    raise KeyError(key)


def report_figures(scope: Scope = "host") -> list[Figure]:
    """The figures of ``scope`` that reports use, in table order."""
    return [f for _, f in all_figures() if f.report and f.scope == scope]


def to_json() -> dict[str, Any]:
    """``{"figures": [{key, title, metrics, match, agg, count_label, unit, precision, scope,
    group, by, report}]}`` for ``GET /api/figures``: ``key`` is the dotted summary path
    (``gpus.utilization_percent``; a group's item field under ``group``, items named by the
    ``by`` label), ``match`` the filters as ``label=value`` strings."""
    rows = []
    for g, f in all_figures():
        if not f.key:
            continue
        rows.append({"key": f"{g.key}.{f.key}" if g else f.key, "title": f.title,
                     "metrics": list(f.metrics), "match": f.matchers, "agg": f.agg,
                     "count_label": f.count_label or None, "unit": f.unit, "precision": f.precision,
                     "scope": f.scope, "group": g.key if g else None, "by": g.by if g else None,
                     "report": f.report or None})
    return {"figures": rows}
