"""Host state and the per-cycle snapshot the API serves: JSON and exposition bytes rendered
once per cycle (with the health score of :mod:`.health`), and JSON helpers (NaN/±Inf become null)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exposition import render
from ..model import MetricFamily, json_number, json_safe
from ..severity import SEVERITY_VALUES
from .health import health

if TYPE_CHECKING:
    from ..alerts.engine import Alert
    from ..config.models import AlertThresholds

AVAILABILITY_KEYS = ("availability_24h_percent", "coverage_24h_percent", "up_24h_seconds",
                     "down_24h_seconds", "unknown_24h_seconds")


@dataclass
class HostState:
    """Latest known state of one inventory host (``local`` is the hub's own host)."""

    name: str
    role: str
    priority: str
    address: str | None
    local: bool = False
    up: bool = False
    last_seen: float | None = None
    error: str | None = None
    scrape_duration: float | None = None
    families: list[MetricFamily] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    availability_24h: float | None = None
    availability: dict[str, Any] = field(default_factory=dict)  # coverage, up/down/unknown seconds (24 h)
    missed: int = 0  # consecutive failed scrapes (down after scrape.down_after of them)
    mesh: dict[str, Any] = field(default_factory=dict)  # agent.mesh.mesh_summary of its last scrape
    last_scrape_error: str | None = None  # why the last scrape failed (None: it succeeded)
    scrape_failures_recent: int | None = None  # failed among the last scrape_window scrapes
    scrape_window: int | None = None  # None: not scraped (the hub's own host) or not yet

    def record_scrape(self, error: str | None, failed: int, window: int) -> None:
        """Scrape status for the card: ``error`` is the reason of the last scrape (None when it
        succeeded), ``failed`` of the last ``window`` scrapes failed. While the last one fails,
        ``error`` reads "last scrape failed: REASON (N of the last M)" (before the host is down
        too)."""
        self.last_scrape_error, self.scrape_failures_recent = error, failed
        self.scrape_window = window
        self.error = (None if error is None
                      else f"last scrape failed: {error} ({failed} of the last {window})")

    def to_json(self, full: bool = False) -> dict[str, Any]:
        d = {"name": self.name, "role": self.role, "priority": self.priority,
             "address": self.address, "local": self.local, "up": self.up,
             "last_seen": self.last_seen, "error": self.error,
             "scrape_duration_seconds": self.scrape_duration, "missed_scrapes": self.missed,
             "availability_24h_percent": self.availability_24h, **self.availability,
             "summary": self.summary,
             "mesh": self.mesh, "last_scrape_error": self.last_scrape_error,
             "scrape_failures_recent": self.scrape_failures_recent,
             "scrape_window": self.scrape_window}
        if full:
            d["families"] = [f.to_json() for f in self.families]
        return d


@dataclass(frozen=True)
class Snapshot:
    """What the API serves between cycles: all bytes rendered once per cycle."""

    timestamp: float
    current_json: bytes
    current_full_json: bytes
    status_json: bytes
    metrics_text: bytes
    ws_message: str


EMPTY_SNAPSHOT = Snapshot(0.0, b'{"timestamp":null,"hosts":{},"services":{}}',
                          b'{"timestamp":null,"hosts":{},"services":{}}',
                          b'{"timestamp":null,"health_score":null,'
                          b'"health":{"score":null,"band":"unknown","terms":[]},'
                          b'"hosts":{},"services":{}}',
                          b"", "")


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_no_default).encode()


def _no_default(o: object) -> object:
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def alert_json(a: Alert) -> dict[str, Any]:
    """An alert for the API: the engine's fields plus ``name`` and ``since`` for display."""
    return {**a.to_json(), "name": a.rule, "since": a.fired_at or a.active_since}


@dataclass(frozen=True)
class SnapshotInput:
    """What one snapshot is rendered from: the cycle's time (``now``, Unix s), the hub's start
    time and cycle count, the interval (s), host and service state, the health thresholds,
    whether the data dir is the one the hub opened, the stored families (for the exposition)
    and the active alerts (:func:`alert_json` dicts)."""

    now: float
    started_at: float
    cycles: int
    interval_s: float
    hosts: Mapping[str, HostState]
    services: Mapping[str, dict[str, Any]]
    thresholds: AlertThresholds
    data_dir_ok: bool
    stored: list[MetricFamily]
    alerts: list[dict[str, Any]]


def render_snapshot(inp: SnapshotInput) -> Snapshot:
    """Every byte the API serves until the next cycle: current (summary and full), status,
    alerts, exposition and the WebSocket message (blocking: run it in a worker thread)."""
    now, alerts = inp.now, inp.alerts
    hosts = {h.name: h.to_json() for h in inp.hosts.values()}
    services = {k: {**v, "response_time_seconds": json_number(v["response_time_seconds"])
                    if v["response_time_seconds"] is not None else None}
                for k, v in inp.services.items()}
    current = {"timestamp": now, "interval_seconds": inp.interval_s,
               "hosts": hosts, "services": services}
    full = {**current, "hosts": {h.name: h.to_json(full=True) for h in inp.hosts.values()}}
    explained = health(inp.hosts, inp.services, inp.thresholds, alerts,
                       data_dir_ok=inp.data_dir_ok)
    status = {
        "timestamp": now, "started_at": inp.started_at, "cycles": inp.cycles,
        "health_score": explained["score"], "health": explained,
        "hosts": {h.name: {"up": h.up, "role": h.role, "priority": h.priority,
                           "last_seen": h.last_seen, "error": h.error,
                           "availability_24h_percent": h.availability_24h, **h.availability}
                  for h in inp.hosts.values()},
        "services": {k: {"up": v["up"], "type": v["type"], "host": v["host"],
                         "response_time_seconds": v["response_time_seconds"],
                         "error": v["error"],
                         **{k: v.get(k) for k in AVAILABILITY_KEYS}}
                     for k, v in services.items()},
        "alerts": {"active": len(alerts),
                   "firing": sum(1 for a in alerts if a["state"] == "firing"),
                   "by_severity": {s: sum(1 for a in alerts if a["severity"] == s)
                                   for s in SEVERITY_VALUES},
                   "by_state": {"pending": sum(1 for a in alerts if a["state"] == "pending"),
                                "firing": sum(1 for a in alerts if a["state"] == "firing"),
                                "acknowledged": sum(1 for a in alerts if a["acknowledged_by"]),
                                "silenced": sum(1 for a in alerts if a["silenced_by"]),
                                "flapping": sum(1 for a in alerts if a["flapping"])}},
    }
    cur_bytes = _dumps(json_safe(current))
    ws = json.dumps({"type": "metrics_update", "data": json_safe(current), "timestamp": now},
                    separators=(",", ":"), allow_nan=False)
    return Snapshot(now, cur_bytes, _dumps(json_safe(full)), _dumps(json_safe(status)),
                    render(inp.stored), ws)
