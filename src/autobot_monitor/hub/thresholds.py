"""The spec's threshold checks over the latest collected state (the full rule engine, with
durations, hysteresis and silences, is a separate component).

:class:`ThresholdChecker` is evaluated once per cycle. An alert is identified by a fingerprint of
its rule name and labels; it keeps its ``since`` time while it stays active, and each alert that
becomes active increments ``autobot_performance_alerts_total{severity,category}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from ..config.models import AlertThresholds
from ..model import MetricFamily, MetricSpec

ALERTS_TOTAL = MetricSpec("autobot_performance_alerts_total", "counter",
                          "Alerts that became active since the hub started.", "",
                          ("severity", "category"))
ACTIVE = MetricSpec("autobot_alerts_active", "gauge", "Alerts active now.", "",
                    ("severity",))

_RAISE = {"critical": "critical", "high": "critical", "medium": "high", "low": "medium"}


@dataclass
class Alert:
    """An active threshold alert. ``value`` and ``threshold`` are in the unit named by ``unit``;
    ``since`` and ``last_seen`` are Unix seconds."""

    fingerprint: str
    name: str
    severity: str
    category: str
    host: str | None
    labels: dict[str, str]
    value: float | None
    threshold: float | None
    unit: str
    summary: str
    since: float
    last_seen: float

    def to_json(self) -> dict:
        return asdict(self)


def _fp(name: str, labels: dict[str, str]) -> str:
    raw = name + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class ThresholdChecker:
    """Evaluates thresholds against host summaries and service results each cycle."""

    def __init__(self, thresholds: AlertThresholds):
        self.thresholds = thresholds
        self.active: dict[str, Alert] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def evaluate(self, now: float, hosts: list[dict], services: list[dict]) -> list[Alert]:
        """``hosts``: dicts with ``name``, ``priority``, ``up``, ``summary``; ``services``:
        dicts with ``name``, ``host``, ``up``, ``response_time_seconds``, ``error``.
        Returns the alerts active after this evaluation, most severe first."""
        t = self.thresholds
        found: list[tuple[str, str, str, str | None, dict, float | None, float | None, str, str]] = []
        for h in hosts:
            name, s = h["name"], h.get("summary") or {}
            prio = h.get("priority", "medium")
            if not h.get("up"):
                found.append(("HostDown", "critical", "availability", name, {},
                              None, None, "", f"host {name} is not reporting"))
                continue
            cpu = s.get("cpu_percent")
            if cpu is not None and cpu > t.cpu_percent:
                found.append(("HighCpuUsage", self._sev("high", prio), "cpu", name, {}, cpu,
                              t.cpu_percent, "percent", f"CPU {cpu:.1f}% on {name}"))
            mem = (s.get("memory") or {}).get("used_percent")
            if mem is not None and mem > t.memory_percent:
                found.append(("HighMemoryUsage", self._sev("high", prio), "memory", name, {}, mem,
                              t.memory_percent, "percent", f"memory {mem:.1f}% on {name}"))
            for fs in s.get("filesystems") or []:
                u = fs.get("used_percent")
                if u is not None and u > t.disk_percent:
                    found.append(("HighDiskUsage", self._sev("high", prio), "disk", name,
                                  {"mountpoint": fs["mountpoint"]}, u, t.disk_percent, "percent",
                                  f"filesystem {fs['mountpoint']} {u:.1f}% full on {name}"))
        for sv in services:
            labels = {"service": sv["name"]}
            if not sv.get("up"):
                found.append(("ServiceDown", "critical", "service", sv.get("host"), labels, None,
                              None, "", f"service {sv['name']} is down: {sv.get('error') or 'check failed'}"))
                continue
            rt = sv.get("response_time_seconds")
            if rt is not None and rt > t.api_response_time:
                found.append(("SlowResponse", "medium", "service", sv.get("host"), labels, rt,
                              t.api_response_time, "seconds",
                              f"service {sv['name']} answered in {rt:.2f}s"))
        new_active: dict[str, Alert] = {}
        for name, sev, cat, host, labels, value, thr, unit, summary in found:
            full = dict(labels)
            if host:
                full["host"] = host
            fp = _fp(name, full)
            prev = self.active.get(fp)
            if prev is None:
                self.counts[(sev, cat)] = self.counts.get((sev, cat), 0) + 1
            new_active[fp] = Alert(fp, name, sev, cat, host, full, value, thr, unit, summary,
                                   prev.since if prev else now, now)
        self.active = new_active
        order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
        return sorted(new_active.values(), key=lambda a: (order[a.severity], a.since))

    @staticmethod
    def _sev(base: str, priority: str) -> str:
        """A critical-priority host raises a resource alert's severity one step."""
        return _RAISE[base] if priority == "critical" else base

    def families(self) -> list[MetricFamily]:
        total = ALERTS_TOTAL.family()
        for (sev, cat), n in sorted(self.counts.items()):
            total.add(n, {"severity": sev, "category": cat})
        act = ACTIVE.family()
        for sev in ("critical", "high", "medium", "low"):
            act.add(sum(1 for a in self.active.values() if a.severity == sev), {"severity": sev})
        return [total, act]
