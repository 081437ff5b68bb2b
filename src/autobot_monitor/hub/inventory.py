"""What the hub watches, from its config: the local collectors, scrape targets and per-host
state carried across reloads (a host that stays keeps its state; its role, priority and address
follow the config); and the fan-out of each cycle's WebSocket message."""

from __future__ import annotations

import asyncio
from typing import Any

from ..clock import Clock
from ..collectors import build as build_collectors
from ..collectors.base import CollectorContext
from ..collectors.runner import CollectorRunner
from ..config.models import MonitorConfig
from .scrape import ScrapeTarget, limits_for
from .snapshot import HostState


def local_runner(cfg: MonitorConfig, clock: Clock) -> CollectorRunner:
    """The collectors of the hub's own host (none when ``local_host`` is disabled)."""
    c = cfg.collectors
    options: dict[str, dict[str, Any]] = {
        "processes": c.processes.model_dump(), "filesystem": dict(c.filesystem),
        "netdev": dict(c.netdev), "netstat": dict(c.netstat), "vmstat": dict(c.vmstat),
        "arp": dict(c.arp), "systemd": c.systemd.model_dump(exclude_none=True),
        "smart": c.smart.model_dump(exclude_none=True), "containers": c.containers.model_dump(),
        "textfile": c.textfile.model_dump()}
    for name, seconds in c.intervals.items():
        options.setdefault(name, {})["interval"] = seconds
    ctx = CollectorContext(procfs=c.procfs, sysfs=c.sysfs, rootfs=c.rootfs, clock=clock,
                           options=options)
    return CollectorRunner(
        build_collectors(ctx, c.enabled, c.disabled) if cfg.local_host.enabled else [],
        timeout=c.timeout, clock=clock)


def scrape_targets(cfg: MonitorConfig) -> list[ScrapeTarget]:
    """One target per inventory host (job ``autobot-agent``; told the hub's interval, so it
    collects on the hub's cycle), then the plain ``targets``."""
    agents = [ScrapeTarget("autobot-agent", f"{h.scheme}://{h.address}/metrics", h.name,
                           dict(h.labels), h.token_env, h.tls_ca, limits_for(cfg.scrape, h),
                           interval_s=cfg.monitoring_interval)
              for h in cfg.hosts]
    return agents + [ScrapeTarget(t.job, t.url, None, dict(t.labels),
                                  limits=limits_for(cfg.scrape, t)) for t in cfg.targets]


def host_states(cfg: MonitorConfig, old: dict[str, HostState], local_name: str
                ) -> dict[str, HostState]:
    """The hosts of ``cfg`` (the local one first when enabled), reusing ``old``'s states."""
    hosts: dict[str, HostState] = {}
    if cfg.local_host.enabled:
        st = old.get(local_name) or HostState(local_name, cfg.local_host.role,
                                              cfg.local_host.priority, None, local=True)
        st.role, st.priority = cfg.local_host.role, cfg.local_host.priority
        hosts[local_name] = st
    for h in cfg.hosts:
        st = old.get(h.name) or HostState(h.name, h.role, h.priority, h.address)
        st.role, st.priority, st.address = h.role, h.priority, h.address
        hosts[h.name] = st
    return hosts


class Fanout:
    """Each cycle's WebSocket message to every subscriber. A subscriber's queue is bounded (2):
    a slow client misses intermediate updates rather than growing memory."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str]] = set()

    def subscribe(self) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=2)
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._queues.discard(q)

    def publish(self, msg: str) -> None:
        for q in list(self._queues):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait(msg)
