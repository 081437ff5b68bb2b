"""The steps of one hub cycle, each a function of explicit inputs and outputs.

    scrape (:class:`Gathered`, run by the hub) -> :func:`label` -> :func:`update_hosts` and
    :func:`summarise` -> :func:`service_states` -> :func:`write` (the store) -> evaluate
    (the alert service) -> publish (the snapshot)

:func:`label` decides what is stored and under which labels (process names redacted, agents'
samples with their ``host``, plain targets' with ``job``/``instance``, service-check samples with
the ``host`` of the service); the other steps never relabel. :class:`Maintenance` schedules the
store's retention by time on the monotonic clock, never by counting cycles.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..agent.mesh import mesh_summary
from ..checks.base import ServiceResult
from ..clock import Clock
from ..errors import StoreError
from ..model import MetricFamily, Sample
from ..privacy import redact_process_names
from ..report.availability import no_availability
from ..store import Series
from .scrape import ScrapeResult, with_target_labels
from .snapshot import HostState
from .summary import summarize

log = logging.getLogger(__name__)

DEFAULT_DOWN_AFTER = 2  # missed scrapes in a row before an agent's host is down
MAINTENANCE_EVERY_S = 3600.0


@dataclass
class Gathered:
    """What the scrape step collected at ``now`` (Unix s): the hub's own host's families
    (None: the local host is not monitored), one result per scrape target, the service checks'
    families and results."""

    now: float
    local: list[MetricFamily] | None
    scrapes: list[ScrapeResult]
    service_families: list[MetricFamily] = field(default_factory=list)
    services: list[ServiceResult] = field(default_factory=list)


def label(g: Gathered, local_name: str, service_hosts: Mapping[str, str | None],
          redact: Sequence[Any] = ()) -> tuple[Gathered, list[MetricFamily]]:
    """Returns ``g`` with process names redacted by the compiled ``redact`` patterns (before
    anything else sees them), and the families to store: the local host's with
    ``host=local_name``, each successful scrape's with its target labels, the service checks'
    with ``host`` set from ``service_hosts`` (service name -> host; None or absent: unchanged).
    Failed scrapes store nothing, nor does an agent's repeat of its previous collection."""
    if redact:
        g = replace(g, local=redact_process_names(g.local, redact) if g.local is not None else None,
                    scrapes=[replace(r, families=redact_process_names(r.families, redact))
                             for r in g.scrapes])
    stored: list[MetricFamily] = []
    if g.local is not None:
        stored += [f.with_labels({"host": local_name}) for f in g.local]
    for r in g.scrapes:
        if r.ok and not r.repeat:
            stored += with_target_labels(r.families, r.target)
    stored += [_with_service_host(f, service_hosts) for f in g.service_families]
    return g, stored


def _with_service_host(fam: MetricFamily, service_hosts: Mapping[str, str | None]) -> MetricFamily:
    out = MetricFamily(fam.name, fam.type, fam.help, fam.unit)
    for s in fam.samples:
        host = service_hosts.get(s.label_dict.get("service", ""))
        out.samples.append(s if not host else Sample(
            s.name, tuple(sorted({**dict(s.labels), "host": host}.items())), s.value, s.timestamp))
    return out


def update_hosts(hosts: Mapping[str, HostState], g: Gathered, local_name: str,
                 status: Mapping[str, tuple[str | None, int, int]],
                 down_after: Mapping[str, int]) -> None:
    """Update each host's state from ``g`` in place. The local host is up with the families it
    collected. An agent's host is up on a good scrape; after a failed one it stays up (with its
    last families) until ``down_after[host]`` scrapes in a row failed, then it is down and shows
    no families (they are history; the store keeps them). ``status``: host -> (last scrape error
    or None, failed of the last M scrapes, M) from :class:`~.scrape_health.ScrapeHealth`."""
    if g.local is not None and local_name in hosts:
        st = hosts[local_name]
        st.families, st.up, st.last_seen, st.error = g.local, True, g.now, None
    for r in g.scrapes:
        st_or_none = hosts.get(r.target.host) if r.target.host is not None else None
        if st_or_none is None:
            continue
        st = st_or_none
        st.scrape_duration = r.duration
        st.record_scrape(*status.get(st.name, (None, 0, 0)))
        st.missed = 0 if r.ok else st.missed + 1
        st.up = r.ok or (st.last_seen is not None
                         and st.missed < down_after.get(st.name, DEFAULT_DOWN_AFTER))
        if r.ok:
            st.families, st.last_seen = r.families, g.now
        elif not st.up:
            st.families = []


def summarise(hosts: Mapping[str, HostState]) -> None:
    """Each up host's ``summary`` (and an agent's ``mesh``) from its current families; a host
    that is down or was never seen has an empty summary and mesh: nothing is shown as measured
    (figures absent from the families are None in the summary, never zeros)."""
    for st in hosts.values():
        st.summary = summarize(st.families) if st.up else {}
        if not st.local:
            st.mesh = mesh_summary(st.families) if st.up else {}


def service_states(results: Sequence[ServiceResult], now: float,
                   availability: Mapping[tuple[str, str], dict[str, Any]]
                   ) -> dict[str, dict[str, Any]]:
    """The API's service dicts (name -> check fields, ``checked_at`` = ``now`` and the last
    known 24 h availability, or its "unknown" form)."""
    return {res.name: {
        "name": res.name, "type": res.type, "host": res.host, "up": res.up,
        "response_time_seconds": res.response_time_seconds,
        "status_code": res.status_code, "error": res.error,
        "details": res.details, "checked_at": now,
        **availability.get(("service", res.name), no_availability())} for res in results}


def apply_availability(hosts: Mapping[str, HostState], services: Mapping[str, dict[str, Any]],
                       availability: Mapping[tuple[str, str], dict[str, Any]]) -> None:
    """Set each host's and service's 24 h availability (``("host"|"service", name)`` -> the
    :func:`~..report.availability.availability_24h` dict; absent: unknown)."""
    for h in hosts.values():
        h.availability = dict(availability.get(("host", h.name), no_availability()))
        h.availability_24h = h.availability["availability_24h_percent"]
    for name, svc in services.items():
        svc.update(availability.get(("service", name), no_availability()))


class SampleWriter(Protocol):
    def write(self, rows: list[Series]) -> int: ...


@dataclass
class StoreHealth:
    """The store step's figures: samples written and failed writes since start, whether the
    last write failed, wall seconds of the last write (None before the first)."""

    samples_stored: int = 0
    errors: int = 0
    failing: bool = False
    write_s: float | None = None


def write(store: SampleWriter, fams: Sequence[MetricFamily], now: float,
          health: StoreHealth) -> None:
    """Write every sample of ``fams`` stamped ``now`` (blocking: run in a worker thread). A
    :class:`~..errors.StoreError` is counted in ``health`` and logged once per change of state,
    never raised: a failing store must not stop the cycle (alerts stay as evaluated)."""
    rows = [Series(s.name, dict(s.labels), [(now, s.value)], f.type, f.unit, f.help)
            for f in fams for s in f.samples]
    t0 = time.perf_counter()
    try:
        health.samples_stored += store.write(rows)
        if health.failing:
            log.warning("store writes succeed again")
        health.failing = False
    except StoreError as e:
        health.errors += 1
        if not health.failing:
            log.error("store write failed: %s", e)
        health.failing = True
    health.write_s = time.perf_counter() - t0


class Maintenance:
    """Store maintenance (retention) by time: :meth:`due` is True at the first cycle and then
    once ``every_s`` seconds of the monotonic clock have passed since the last run, so a wall
    clock step neither triggers it nor holds it back, and a long interval does not stretch it."""

    def __init__(self, clock: Clock, every_s: float = MAINTENANCE_EVERY_S):
        self.clock, self.every_s = clock, every_s
        self.last_at: float | None = None

    def due(self) -> bool:
        """True (and the next run scheduled ``every_s`` later) when maintenance should run now."""
        now = self.clock.monotonic()
        if self.last_at is not None and now - self.last_at < self.every_s:
            return False
        self.last_at = now
        return True
