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

import httpx

from ..agent.mesh import mesh_summary
from ..alerts.defaults import effective_rules
from ..alerts.service import AlertService
from ..checks import ServiceChecker
from ..clock import SYSTEM_CLOCK, Clock, StepDetector
from ..collectors import build as build_collectors
from ..collectors.base import CollectorContext
from ..collectors.runner import CollectorRunner
from ..config.loader import load_config
from ..config.models import MonitorConfig
from ..errors import ConfigError, StoreError
from ..model import MetricFamily, MetricSpec
from ..report.availability import availability_24h, no_availability
from ..store import Series, Store, open_store
from ..store.future import drop_future
from .datadir import DataDirWatch, watched_paths
from .schedule import CycleSchedule
from .scrape import (
    ScrapeResult,
    ScrapesCancelled,
    ScrapeTarget,
    limits_for,
    scrape_all,
    scrape_client,
    scrape_families,
    with_target_labels,
)
from .scrape_health import ScrapeHealth
from .snapshot import (
    EMPTY_SNAPSHOT,
    HostState,
    Snapshot,
    alert_json,
    health_score,
    render_snapshot,
)
from .summary import summarize

log = logging.getLogger(__name__)
perf_log = logging.getLogger("autobot_monitor.performance")

HUB_SPECS = (
    MetricSpec("autobot_hub_cycle_duration_seconds", "gauge",
               "Wall time of the hub's last collection cycle.", "seconds"),
    MetricSpec("autobot_hub_store_write_duration_seconds", "gauge",
               "Wall time of the last write of a cycle to the store.", "seconds"),
    MetricSpec("autobot_hub_samples_stored_total", "counter",
               "Samples written to the store since the hub started."),
    MetricSpec("autobot_hub_store_errors_total", "counter",
               "Store writes that failed since the hub started."),
    MetricSpec("autobot_host_up", "gauge",
               "1 while the inventory host is up (fewer than down_after scrapes missed in a row), "
               "else 0.", "",
               ("host", "role", "priority")),
)


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
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._stop = asyncio.Event()
        self._samples_stored = 0
        self._store_errors = 0
        self._store_failing = False
        self._store_write_s: float | None = None
        self._cycle_s: float | None = None
        self._cycles = 0
        self.hosts: dict[str, HostState] = {}
        self.services: dict[str, dict] = {}
        self.alerts: AlertService | None = None
        self._availability: dict[tuple[str, str], dict] = {}  # 24 h, from the store
        self._cycle_lock = asyncio.Lock()
        self._scrape_health = ScrapeHealth()
        self.started_at = clock.time()
        self.clock_steps = StepDetector(clock, self._step_threshold())
        self._data_dir_watch = DataDirWatch([])
        self.schedule = CycleSchedule(clock)

    # -- setup -------------------------------------------------------------------------------
    @property
    def local_name(self) -> str:
        return self.config.local_host.name or socket.gethostname()

    def _configure(self, cfg: MonitorConfig) -> None:
        old_runner = getattr(self, "runner", None)
        if old_runner is None or (cfg.collectors, cfg.local_host.enabled) != (
                self.config.collectors, self.config.local_host.enabled):
            # a reload with unchanged collector settings keeps the collectors and their rate
            # state (previous readings): CPU % and every rate stay measured across it
            self.runner = self._build_runner(cfg)
            if old_runner is not None:
                log.info("collector settings changed: collectors rebuilt, so CPU % and rates "
                         "are not measured until their second reading")
                old_runner.close()
        self.checker = ServiceChecker(list(cfg.services), clock=self.clock)
        self.targets: list[ScrapeTarget] = [
            ScrapeTarget("autobot-agent", f"{h.scheme}://{h.address}/metrics", h.name,
                         dict(h.labels), h.token_env, h.tls_ca, limits_for(cfg.scrape, h))
            for h in cfg.hosts]
        self._down_after = {h.name: h.down_after or cfg.scrape.down_after for h in cfg.hosts}
        self.targets += [ScrapeTarget(t.job, t.url, None, dict(t.labels), limits=limits_for(cfg.scrape, t))
                         for t in cfg.targets]
        hosts: dict[str, HostState] = {}
        if cfg.local_host.enabled:
            hosts[self.local_name] = self.hosts.get(self.local_name) or HostState(
                self.local_name, cfg.local_host.role, cfg.local_host.priority, None, local=True)
            hosts[self.local_name].role = cfg.local_host.role
            hosts[self.local_name].priority = cfg.local_host.priority
        for h in cfg.hosts:
            st = self.hosts.get(h.name) or HostState(h.name, h.role, h.priority, h.address)
            st.role, st.priority, st.address = h.role, h.priority, h.address
            hosts[h.name] = st
        self.hosts = hosts
        self.config = cfg
        if self.alerts is not None:
            self.alerts.reconfigure(effective_rules(cfg), cfg.alerting, cfg.monitoring_interval)

    def _build_runner(self, cfg: MonitorConfig) -> CollectorRunner:
        c = cfg.collectors
        ctx = CollectorContext(procfs=c.procfs, sysfs=c.sysfs, rootfs=c.rootfs, clock=self.clock,
                               options={"processes": c.processes.model_dump(),
                                        "filesystem": dict(c.filesystem), "netdev": dict(c.netdev)})
        return CollectorRunner(
            build_collectors(ctx, c.enabled, c.disabled) if cfg.local_host.enabled else [],
            timeout=c.timeout)

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
        from ..report.schedule import ReportScheduler

        self.reports = ReportScheduler(self)  # issue 11: scheduled reports, built off the loop
        from ..optimizer.service import OptimizerService

        self.optimizer = OptimizerService(self)  # issue 8: analyses every optimization_interval
        self._http = scrape_client(self.config.scrape.timeout)
        self._ca_clients: dict[str, httpx.AsyncClient] = {}

    async def close(self) -> None:
        self._stop.set()
        await self.checker.aclose()
        if self.alerts is not None:
            await self.alerts.aclose()
        if getattr(self, "reports", None) is not None:
            await self.reports.aclose()
        await self._http.aclose()
        for c in self._ca_clients.values():
            await c.aclose()
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
        await self.runner.run()  # prime counters for rates
        sched = self.schedule = CycleSchedule(self.clock)
        opt = getattr(self, "optimizer", None)  # issue 8: its own schedule, same stop event
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
        t0 = time.perf_counter()
        self.clock_steps.threshold_s = self._step_threshold()
        step = self.clock_steps.check()
        now = self.clock.time()
        if step is not None and step < 0:  # what the clock stamped ahead would block writes
            await self._drop_future(now, "after the clock stepped back")
        await asyncio.to_thread(self._data_dir_watch.update)
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
        if self.config.privacy.redact_process_names:  # issue 9: before anything sees them
            from ..privacy import compile_patterns, redact_process_names

            pats = compile_patterns(self.config.privacy.redact_process_names)
            local_fams = redact_process_names(local_fams, pats)
            for r in scrapes:
                r.families = redact_process_names(r.families, pats)

        stored: list[MetricFamily] = []
        if self.config.local_host.enabled:
            st = self.hosts[self.local_name]
            st.families, st.up, st.last_seen, st.error = local_fams, True, now, None
            st.summary = summarize(local_fams)
            stored += [f.with_labels({"host": st.name}) for f in local_fams]
        for r in scrapes:
            if r.target.host is not None:
                st = self.hosts[r.target.host]
                st.scrape_duration = r.duration
                st.record_scrape(*self._scrape_health.status(r))
                # down after down_after missed scrapes in a row, up on the first good one
                st.missed = 0 if r.ok else st.missed + 1
                st.up = r.ok or (st.last_seen is not None
                                 and st.missed < self._down_after.get(st.name, 2))
                if r.ok:
                    st.families, st.last_seen = r.families, now
                    st.summary = summarize(r.families)
                    st.mesh = mesh_summary(r.families)
                    stored += with_target_labels(r.families, r.target)
                elif not st.up:
                    # its last figures are history now, not current state: the API shows none
                    # (the store and last_seen keep what was measured)
                    st.mesh, st.summary, st.families = {}, {}, []
            elif r.ok:
                stored += with_target_labels(r.families, r.target)
        self.services = {}
        for res in svc_results:
            self.services[res.name] = {
                "name": res.name, "type": res.type, "host": res.host, "up": res.up,
                "response_time_seconds": res.response_time_seconds,
                "status_code": res.status_code, "error": res.error,
                "details": res.details, "checked_at": now,
                **self._availability.get(("service", res.name), no_availability())}
        svc_host = {s.name: s.host for s in self.config.services}
        for f in svc_fams:
            fam = MetricFamily(f.name, f.type, f.help, f.unit)
            for s in f.samples:
                h = svc_host.get(s.label_dict.get("service", ""))
                fam.samples.append(s if not h else
                                   type(s)(s.name, tuple(sorted({**dict(s.labels), "host": h}.items())),
                                           s.value, s.timestamp))
            stored.append(fam)

        stored += scrape_families(scrapes, self._scrape_health.failures(),
                                  self._scrape_health.duplicates()) + self._hub_families()
        if getattr(self, "optimizer", None) is not None:
            stored += self.optimizer.families()  # issue 8
        await self.alerts.evaluate(stored, {h.name: h.priority for h in self.hosts.values()})
        stored += self.alerts.families()
        alerts = [alert_json(a) for a in self.alerts.engine.active()]

        await self._write(stored, now)
        await self._refresh_availability(now)
        if getattr(self, "reports", None) is not None:
            self.reports.tick(now)  # issue 11: starts a build task when a period's report is due
        self._cycles += 1
        self._cycle_s = time.perf_counter() - t0
        snap = await asyncio.to_thread(self._render, now, stored, alerts)
        self.snapshot = snap
        self._publish(snap.ws_message)
        perf_log.info(json.dumps({"timestamp": now, "hosts": {
            h.name: {"up": h.up, "summary": h.summary} for h in self.hosts.values()},
            "services": {k: {"up": v["up"], "response_time_seconds": v["response_time_seconds"]}
                         for k, v in self.services.items()}}, default=str))
        if self._cycles % 360 == 1 and self.store is not None:
            await asyncio.to_thread(self.store.enforce_retention, now)
        return snap

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

    async def _write(self, fams: list[MetricFamily], now: float) -> None:
        if self.store is None:
            return
        rows = [Series(s.name, dict(s.labels), [(now, s.value)], f.type) for f in fams for s in f.samples]
        t0 = time.perf_counter()
        try:
            self._samples_stored += await asyncio.to_thread(self.store.write, rows)
            if self._store_failing:
                log.warning("store writes succeed again")
            self._store_failing = False
        except StoreError as e:
            self._store_errors += 1
            if not self._store_failing:  # once per state change; the counter counts each
                log.error("store write failed: %s", e)
            self._store_failing = True
        self._store_write_s = time.perf_counter() - t0

    async def _refresh_availability(self, now: float) -> None:
        """The last 24 h of stored check results (``autobot_host_up``/``autobot_service_up``,
        one sample per cycle) in three states (see :func:`~..report.availability.three_states`):
        availability = up / monitored time, coverage = monitored time / 24 h, up/down/unknown
        seconds."""
        if self.store is None:
            return
        store, interval = self.store, self.config.monitoring_interval
        keys = [("host", h) for h in self.hosts] + [("service", s) for s in self.services]

        def compute() -> dict[tuple[str, str], dict]:
            return {k: availability_24h(store, k, now, interval) for k in keys}

        try:
            self._availability = await asyncio.to_thread(compute)
        except StoreError as e:
            log.error("availability query failed: %s", e)
            return
        for h in self.hosts.values():
            h.availability = self._availability.get(("host", h.name), no_availability())
            h.availability_24h = h.availability["availability_24h_percent"]
        for s in self.services.values():
            s.update(self._availability.get(("service", s["name"]), no_availability()))

    def _hub_families(self) -> list[MetricFamily]:
        cyc, wr, tot, err, hup = (s.family() for s in HUB_SPECS)
        if self._cycle_s is not None:
            cyc.add(self._cycle_s)
        if self._store_write_s is not None:
            wr.add(self._store_write_s)
        tot.add(self._samples_stored)
        err.add(self._store_errors)
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

    def health_score(self) -> float | None:
        """See :mod:`.health` (the formula, with firing alerts' caps)."""
        alerts = [alert_json(a) for a in self.alerts.engine.active()] if self.alerts else []
        return health_score(self.hosts, self.services, self.config.alert_thresholds, alerts,
                            data_dir_ok=self.data_dir_problem is None)

    def _render(self, now: float, stored: list[MetricFamily], alerts: list) -> Snapshot:
        return render_snapshot(self, now, stored, alerts)

    # -- websocket fan-out -------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[str]:
        """A queue that receives each cycle's ``metrics_update`` message. Bounded (2): a slow
        client misses intermediate updates rather than growing memory."""
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=2)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._subscribers.discard(q)

    def _publish(self, msg: str) -> None:
        for q in list(self._subscribers):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait(msg)
