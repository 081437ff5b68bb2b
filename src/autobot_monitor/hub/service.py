"""The hub: one cycle every ``monitoring_interval`` seconds.

A cycle collects the local host in-process, scrapes every agent and target, and runs every service
check, all concurrently; then it stores every sample, evaluates the threshold checks and publishes
one immutable :class:`Snapshot` (pre-rendered JSON and exposition bytes) that the API serves and
the WebSocket pushes. Requests never run a probe: they read the latest snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

import httpx

from ..alerts.defaults import effective_rules
from ..alerts.service import AlertService
from ..checks.runner import ServiceChecker
from ..clock import SYSTEM_CLOCK, Clock, StepDetector
from ..collectors.runner import CollectorRunner
from ..config.loader import load_config
from ..config.models import MonitorConfig
from ..errors import ConfigError, StoreError
from ..model import MetricFamily
from ..privacy import compile_patterns
from ..report.availability import availability_24h
from ..store import Store, open_store
from ..store.future import drop_future
from .cycle import (
    Gathered,
    Maintenance,
    StoreHealth,
    apply_availability,
    label,
    service_states,
    summarise,
    update_hosts,
    write,
)
from .datadir import DataDirWatch, watched_paths
from .inventory import Fanout, host_states, local_runner, scrape_targets
from .metrics import HUB_SPECS
from .schedule import CycleSchedule
from .scrape import (
    ScrapeResult,
    ScrapesCancelled,
    ScrapeTarget,
    mark_repeats,
    scrape_all,
    scrape_client,
    scrape_families,
)
from .scrape_health import ScrapeHealth
from .snapshot import (
    EMPTY_SNAPSHOT,
    HostState,
    Snapshot,
    SnapshotInput,
    alert_json,
    render_snapshot,
)

if TYPE_CHECKING:
    from ..optimizer.service import OptimizerService
    from ..report.schedule import ReportScheduler

log = logging.getLogger(__name__)
perf_log = logging.getLogger("autobot_monitor.performance")


class Hub:
    """The hub process's core. ``await start()``, then ``await run_forever()``; ``reload()``
    re-reads the config file (a bad file is refused and the old config stays)."""

    def __init__(self, config: MonitorConfig, data_dir: str, config_path: str | None = None,
                 clock: Clock = SYSTEM_CLOCK):
        self.config = config
        self.config_path = config_path
        self.data_dir = data_dir
        self.clock = clock
        self.snapshot = EMPTY_SNAPSHOT
        self.store: Store | None = None
        self._fanout = Fanout()
        self._stop = asyncio.Event()
        self._store_health = StoreHealth()
        self._maintenance = Maintenance(clock)
        self._cycle_s: float | None = None
        self._cycles = 0
        self.hosts: dict[str, HostState] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.alerts: AlertService | None = None
        self.reports: ReportScheduler | None = None  # built by start()
        self.optimizer: OptimizerService | None = None  # built by start()
        self.runner: CollectorRunner | None = None  # built by _configure()
        self._availability: dict[tuple[str, str], dict[str, Any]] = {}  # 24 h, from the store
        self._cycle_lock = asyncio.Lock()
        self._scrape_health = ScrapeHealth()
        self._last_digest: dict[str, bytes] = {}  # agent url -> body digest of its last scrape
        self.started_at = clock.time()
        self.clock_steps = StepDetector(clock, self._step_threshold())
        self._data_dir_watch = DataDirWatch([])
        self.schedule = CycleSchedule(clock)

    # -- setup -------------------------------------------------------------------------------
    @property
    def local_name(self) -> str:
        return self.config.local_host.name or socket.gethostname()

    def _configure(self, cfg: MonitorConfig) -> None:
        old_runner = self.runner
        if old_runner is None or (cfg.collectors, cfg.local_host.enabled) != (
                self.config.collectors, self.config.local_host.enabled):
            # a reload with unchanged collector settings keeps the collectors and their rate
            # state (previous readings): CPU % and every rate stay measured across it
            self.runner = local_runner(cfg, self.clock)
            if old_runner is not None:
                log.info("collector settings changed: collectors rebuilt, so CPU % and rates "
                         "are not measured until their second reading")
                old_runner.close()
        self.checker = ServiceChecker(list(cfg.services), clock=self.clock)
        self.targets = scrape_targets(cfg)
        self._down_after = {h.name: h.down_after or cfg.scrape.down_after for h in cfg.hosts}
        self._service_hosts = {s.name: s.host for s in cfg.services}
        self._redact = compile_patterns(cfg.privacy.redact_process_names) \
            if cfg.privacy.redact_process_names else []
        self.config = cfg  # local_name follows the new config
        self.hosts = host_states(cfg, self.hosts, self.local_name)
        if self.alerts is not None:
            self.alerts.reconfigure(effective_rules(cfg), cfg.alerting, cfg.monitoring_interval)

    async def start(self) -> None:
        """Open the store and build collectors, checks, targets and the alert service."""
        self.store = await asyncio.to_thread(open_store, self.config.storage, self.data_dir)
        await self._drop_future(self.clock.time(), "found at start")
        self._data_dir_watch = await asyncio.to_thread(
            DataDirWatch, watched_paths(self.config, self.data_dir))
        self._configure(self.config)
        self.alerts = AlertService(effective_rules(self.config), self.config.alerting, self.clock,
                                   self.store, os.path.join(self.data_dir, "alerts_state.json"),
                                   self.config.monitoring_interval)
        self.alerts.start()
        alerts = self.alerts
        from ..report.schedule import ReportScheduler

        self.reports = ReportScheduler(lambda: self.config, self.store, self.data_dir,
                                       lambda: list(alerts.engine.history))
        from ..optimizer.service import AlertHook, OptimizerService

        self.optimizer = OptimizerService(
            self, self.store, self.clock, self.data_dir,
            AlertHook(alerts.engine.evaluate, alerts.dispatcher.submit))
        self._http = scrape_client(self.config.scrape.timeout)
        self._ca_clients: dict[str, httpx.AsyncClient] = {}

    def stop(self) -> None:
        """Ask :meth:`run_forever` (and the optimizer's loop) to end after the current cycle."""
        self._stop.set()

    async def close(self) -> None:
        self._stop.set()
        await self.checker.aclose()
        if self.alerts is not None:
            await self.alerts.aclose()
        if self.reports is not None:
            await self.reports.aclose()
        await self._http.aclose()
        for c in self._ca_clients.values():
            await c.aclose()
        if self.runner is not None:
            self.runner.close()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)

    async def reload(self) -> list[str] | None:
        """Re-read the config file. Returns None on success, else the problems (old config stays).
        The storage path is fixed at start; a changed one is reported and ignored."""
        if self.config_path is None:
            return ["no config file to reload (started with defaults)"]
        try:
            cfg = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as e:
            for p in e.problems:
                log.error("reload refused: %s", p)
            return e.problems
        if cfg.storage != self.config.storage:
            log.warning("storage settings change needs a restart; keeping the current store")
        # Not while a cycle runs: swapping the runner and checker under it closed their pools and
        # clients mid-use (a cancelled collector future ended the cycle loop for good).
        async with self._cycle_lock:
            old_checker = self.checker
            self._configure(cfg)
            await old_checker.aclose()
        log.info("configuration reloaded from %s", self.config_path)
        return None

    # -- the cycle ---------------------------------------------------------------------------
    async def run_forever(self) -> None:
        """Run cycles every ``monitoring_interval`` seconds (monotonic schedule) until stopped.
        The first cycle runs after one second so rate-based figures have two readings."""
        if self.runner is not None:
            await self.runner.run()  # prime counters for rates
        sched = self.schedule = CycleSchedule(self.clock)
        opt = self.optimizer  # its own schedule, same stop event
        opt_task = asyncio.create_task(opt.run_forever(self._stop)) if opt is not None else None
        while not self._stop.is_set():
            delay = sched.delay()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            try:
                await self.run_cycle()
            except ScrapesCancelled:
                break
            except Exception:  # noqa: BLE001 - a bad cycle must not end monitoring
                log.exception("cycle failed")
            sched.done(self.config.monitoring_interval)  # behind: at once, one catch-up
        if opt_task is not None:
            await opt_task

    async def run_cycle(self) -> Snapshot:
        """One full cycle; returns the snapshot it published. Cycles and reloads exclude each
        other."""
        async with self._cycle_lock:
            return await self._run_cycle()

    async def _run_cycle(self) -> Snapshot:
        """scrape -> label -> hosts and summaries -> services -> evaluate -> store -> publish
        (the steps are in :mod:`.cycle`); maintenance when :class:`~.cycle.Maintenance` says."""
        t0 = time.perf_counter()
        now = await self._check_clock()
        gathered, stored = label(await self._gather(now), self.local_name, self._service_hosts,
                                 self._redact)
        status = {r.target.host: self._scrape_health.status(r)
                  for r in gathered.scrapes if r.target.host is not None}
        update_hosts(self.hosts, gathered, self.local_name, status, self._down_after)
        summarise(self.hosts)
        self.services = service_states(gathered.services, now, self._availability)
        stored += scrape_families(gathered.scrapes, self._scrape_health.failures(),
                                  self._scrape_health.duplicates()) + self._hub_families()
        if self.optimizer is not None:
            stored += self.optimizer.families()
        alerts = await self._evaluate(stored)
        if self.store is not None:
            await asyncio.to_thread(write, self.store, stored, now, self._store_health)
        await self._refresh_availability(now)
        if self.reports is not None:
            self.reports.tick(now)  # starts a build task when a period's report is due
        self._cycles += 1
        self._cycle_s = time.perf_counter() - t0
        snap = await asyncio.to_thread(self._render, now, stored, alerts)
        self.snapshot = snap
        self._fanout.publish(snap.ws_message)
        self._log_performance(now)
        if self.store is not None and self._maintenance.due():
            await asyncio.to_thread(self.store.enforce_retention, now)
        return snap

    async def _check_clock(self) -> float:
        """The cycle's wall time; after a backward clock step, what was stamped ahead is dropped
        (it would block writes). Also re-checks the data dir."""
        self.clock_steps.threshold_s = self._step_threshold()
        step = self.clock_steps.check()
        now = self.clock.time()
        if step is not None and step < 0:
            await self._drop_future(now, "after the clock stepped back")
        await asyncio.to_thread(self._data_dir_watch.update)
        return now

    async def _gather(self, now: float) -> Gathered:
        """The scrape step: local collectors, every target and every service check, at once.
        Raises ScrapesCancelled when the hub stops meanwhile."""
        assert self.runner is not None
        local_task = asyncio.create_task(self.runner.run())
        scrape_task = asyncio.create_task(scrape_all(
            [(self._client_for(t), t) for t in self.targets], self.config.scrape.timeout, now,
            self._stop))
        check_task = asyncio.create_task(self.checker.run())
        local_fams, _ = await local_task
        try:
            scrapes: list[ScrapeResult] = await scrape_task
        except ScrapesCancelled:
            check_task.cancel()
            raise
        svc_fams, svc_results = await check_task
        self._scrape_health.record(scrapes)
        mark_repeats(scrapes, self._last_digest)
        return Gathered(now, local_fams if self.config.local_host.enabled else None, scrapes,
                        svc_fams, svc_results)

    async def _evaluate(self, stored: list[MetricFamily]) -> list[dict[str, Any]]:
        """The evaluate step: every rule on this cycle's families; the alert service's own
        families join ``stored``. Returns the active alerts as the API shows them."""
        assert self.alerts is not None
        await self.alerts.evaluate(stored, {h.name: h.priority for h in self.hosts.values()})
        stored += self.alerts.families()
        return [alert_json(a) for a in self.alerts.engine.active()]

    def _log_performance(self, now: float) -> None:
        perf_log.info(json.dumps({"timestamp": now, "hosts": {
            h.name: {"up": h.up, "summary": h.summary} for h in self.hosts.values()},
            "services": {k: {"up": v["up"], "response_time_seconds": v["response_time_seconds"]}
                         for k, v in self.services.items()}}, default=str))

    def _client_for(self, t: ScrapeTarget) -> httpx.AsyncClient:
        """The shared client, or one per ``tls_ca`` file for agents with their own CA."""
        if not t.tls_ca:
            return self._http
        c = self._ca_clients.get(t.tls_ca)
        if c is None:
            c = self._ca_clients[t.tls_ca] = scrape_client(
                self.config.scrape.timeout, ssl.create_default_context(cafile=t.tls_ca))
        return c

    def _step_threshold(self) -> float:
        """Seconds the wall clock must jump against the monotonic one to count as a step."""
        return max(1.0, self.config.monitoring_interval / 2)

    async def _drop_future(self, now: float, when: str) -> None:
        """Delete stored samples stamped after ``now`` + the step threshold (see .store.future)."""
        await asyncio.to_thread(drop_future, self.store, now + self._step_threshold(), when)

    async def _refresh_availability(self, now: float) -> None:
        """The last 24 h of stored check results (``autobot_host_up``/``autobot_service_up``,
        one sample per cycle) in three states (see :func:`~..report.availability.three_states`):
        availability = up / monitored time, coverage = monitored time / 24 h, up/down/unknown
        seconds."""
        if self.store is None:
            return
        store, interval = self.store, self.config.monitoring_interval
        keys = [("host", h) for h in self.hosts] + [("service", s) for s in self.services]

        def compute() -> dict[tuple[str, str], dict[str, Any]]:
            return {k: availability_24h(store, k, now, interval) for k in keys}

        try:
            self._availability = await asyncio.to_thread(compute)
        except StoreError as e:
            log.error("availability query failed: %s", e)
            return
        apply_availability(self.hosts, self.services, self._availability)

    def _hub_families(self) -> list[MetricFamily]:
        cyc, wr, tot, err, hup = (s.family() for s in HUB_SPECS)
        if self._cycle_s is not None:
            cyc.add(self._cycle_s)
        if self._store_health.write_s is not None:
            wr.add(self._store_health.write_s)
        tot.add(self._store_health.samples_stored)
        err.add(self._store_health.errors)
        for h in self.hosts.values():
            hup.add(1.0 if h.up else 0.0, {"host": h.name, "role": h.role, "priority": h.priority})
        return ([cyc, wr, tot, err, hup] + self.clock_steps.families() + self.schedule.families()
                + DataDirWatch.families(self.data_dir_problem)
                + (self.store.families() if self.store is not None else []))

    # -- rendering ---------------------------------------------------------------------------
    @property
    def data_dir_problem(self) -> str | None:
        """Why the data dir is not what the hub opened (see :mod:`.datadir`), else None."""
        return self._data_dir_watch.problem

    def _render(self, now: float, stored: list[MetricFamily],
                alerts: list[dict[str, Any]]) -> Snapshot:
        return render_snapshot(SnapshotInput(
            now, self.started_at, self._cycles, self.config.monitoring_interval, self.hosts,
            self.services, self.config.alert_thresholds, self.data_dir_problem is None, stored,
            alerts))

    # -- websocket fan-out -------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[str]:
        """A queue that receives each cycle's ``metrics_update`` message (see :class:`Fanout`)."""
        return self._fanout.subscribe()

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._fanout.unsubscribe(q)
