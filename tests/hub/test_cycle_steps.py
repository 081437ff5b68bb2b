"""The steps of a hub cycle (hub/cycle.py) as tables, and whole cycles of the real hub on the
fake clock, in-process (no subprocess): relabelling, staleness of a host whose scrapes fail,
summaries of missing data, maintenance by time across a clock step, a failing store."""

import logging

import pytest

from autobot_monitor.checks.base import ServiceResult
from autobot_monitor.clock import FakeClock
from autobot_monitor.config import load_config
from autobot_monitor.errors import StoreError
from autobot_monitor.hub.cycle import (
    Gathered,
    Maintenance,
    StoreHealth,
    label,
    service_states,
    summarise,
    update_hosts,
    write,
)
from autobot_monitor.hub.scrape import ScrapeResult, ScrapeTarget, mark_repeats
from autobot_monitor.hub.service import Hub
from autobot_monitor.hub.snapshot import HostState
from autobot_monitor.model import MetricFamily
from autobot_monitor.privacy import compile_patterns

NOW = 1_700_000_000.0
AGENT = ScrapeTarget("autobot-agent", "http://10.0.0.2:9101/metrics", "web1", {"dc": "x"})
PLAIN = ScrapeTarget("node", "http://10.0.0.3:9100/metrics", None, {})


def fam(name: str, value: float = 1.0, labels: dict | None = None, type_: str = "gauge"):
    f = MetricFamily(name, type_, "help")
    f.add(value, labels or {})
    return f


def scraped(target: ScrapeTarget, ok: bool, fams=()) -> ScrapeResult:
    return ScrapeResult(target, ok, 0.01, list(fams) if ok else [], None if ok else "timeout",
                        NOW, None if ok else "timeout")


def _labels(stored: list[MetricFamily]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in stored:
        out.setdefault(f.name, []).extend(s.label_dict for s in f.samples)
    return out


@pytest.mark.parametrize(("gathered", "service_hosts", "want"), [
    # the local host's samples get its name
    (Gathered(NOW, [fam("autobot_load1")], []), {}, {"autobot_load1": [{"host": "hub"}]}),
    # no local host monitored: nothing of it is stored
    (Gathered(NOW, None, []), {}, {}),
    # an agent's samples get host and its configured labels; a plain target job and instance
    (Gathered(NOW, None, [scraped(AGENT, True, [fam("a")]), scraped(PLAIN, True, [fam("b")])]),
     {}, {"a": [{"host": "web1", "dc": "x"}],
          "b": [{"job": "node", "instance": "10.0.0.3:9100"}]}),
    # a failed scrape stores nothing (a gap, never a carried value)
    (Gathered(NOW, None, [scraped(AGENT, False)]), {}, {}),
    # service samples get the host of their service; a service without host keeps its labels
    (Gathered(NOW, None, [], [fam("autobot_service_up", 1, {"service": "db"}),
                              fam("autobot_service_up", 1, {"service": "api"})]),
     {"db": "web1", "api": None},
     {"autobot_service_up": [{"host": "web1", "service": "db"}, {"service": "api"}]}),
])
def test_label_decides_what_is_stored_under_which_labels(gathered, service_hosts, want):
    _, stored = label(gathered, "hub", service_hosts)
    assert _labels(stored) == want


def test_an_agent_answering_its_previous_collection_again_is_not_stored_again():
    """The hub scraping faster than an agent collects gets the same body twice: the second is
    no new measurement (a counter stored again under a new timestamp would read as rate 0)."""
    from dataclasses import replace

    last: dict[str, bytes] = {}
    first = [replace(scraped(AGENT, True, [fam("a")]), digest=b"1"),
             replace(scraped(PLAIN, True, [fam("b")]))]
    mark_repeats(first, last)
    again = [replace(scraped(AGENT, True, [fam("a")]), digest=b"1"),
             replace(scraped(PLAIN, True, [fam("b")]))]  # a plain target's body is never compared
    mark_repeats(again, last)
    newer = [replace(scraped(AGENT, True, [fam("a", 2)]), digest=b"2")]
    mark_repeats(newer, last)
    assert [r.repeat for r in first + again + newer] == [False, False, True, False, False]
    _, stored = label(Gathered(NOW, None, again), "hub", {})
    assert _labels(stored) == {"b": [{"job": "node", "instance": "10.0.0.3:9100"}]}
    _, stored = label(Gathered(NOW, None, newer), "hub", {})
    assert _labels(stored) == {"a": [{"host": "web1", "dc": "x"}]}


def test_label_redacts_process_names_before_anything_sees_them():
    proc = fam("autobot_process_cpu_percent", 5, {"name": "secret-tool", "pid": "1"})
    g = Gathered(NOW, [proc], [scraped(AGENT, True, [proc])])
    g2, stored = label(g, "hub", {}, compile_patterns(["secret"]))
    names = {s.label_dict["name"] for f in [*g2.local, *g2.scrapes[0].families, *stored]
             for s in f.samples}
    assert "secret-tool" not in str(names) and len(names) == 1


@pytest.mark.parametrize(("scrapes", "down_after", "want"), [
    # (ok?) per cycle -> (up, missed, has families) after the last one
    ([True], 2, (True, 0, True)),
    ([True, False], 2, (True, 1, True)),  # one miss: still up, last figures kept
    ([True, False, False], 2, (False, 2, False)),  # down_after misses: down, no figures shown
    ([True, False, False, True], 2, (True, 0, True)),  # up again on the first good scrape
    ([False], 2, (False, 1, False)),  # never seen: down from the first miss
    ([True, False, False], 3, (True, 2, True)),
])
def test_update_hosts_marks_an_agent_down_after_missed_scrapes(scrapes, down_after, want):
    hosts = {"web1": HostState("web1", "web", "high", "10.0.0.2:9101")}
    for i, ok in enumerate(scrapes):
        g = Gathered(NOW + 10 * i, None, [scraped(AGENT, ok, [fam("autobot_load1")])])
        update_hosts(hosts, g, "hub", {"web1": (None if ok else "timeout", 0, 1)},
                     {"web1": down_after})
        summarise(hosts)
    st = hosts["web1"]
    assert (st.up, st.missed, bool(st.families)) == want
    assert bool(st.summary) == want[0]  # a down host shows no figures, not zeros
    if not scrapes[-1]:
        assert st.error is not None and "timeout" in st.error


def test_summarise_marks_missing_figures_not_measured():
    hosts = {"hub": HostState("hub", "r", "p", None, local=True, up=True,
                              families=[fam("node_load1", 0.5)]),
             "gone": HostState("gone", "r", "p", "x", up=False, families=[])}
    summarise(hosts)
    assert hosts["hub"].summary["load1"] == 0.5
    assert hosts["hub"].summary["cpu_percent"] is None  # no sample: None, never 0
    assert hosts["gone"].summary == {} and hosts["gone"].mesh == {}


def test_service_states_carry_the_check_time_and_unknown_availability():
    res = [ServiceResult("db", "tcp", "web1", False, error="connection refused")]
    out = service_states(res, NOW, {})
    assert out["db"]["up"] is False and out["db"]["checked_at"] == NOW
    assert out["db"]["error"] == "connection refused"
    assert out["db"]["availability_24h_percent"] is None


class _FailingStore:
    def __init__(self, fail: bool):
        self.fail = fail

    def write(self, rows):
        if self.fail:
            raise StoreError("disk full")
        return len(rows)


def test_write_counts_errors_and_logs_once_per_change(caplog):
    health = StoreHealth()
    with caplog.at_level(logging.WARNING, logger="autobot_monitor.hub.cycle"):
        for fail in (False, True, True, False):
            write(_FailingStore(fail), [fam("a"), fam("b")], NOW, health)
    assert (health.samples_stored, health.errors, health.failing) == (4, 2, False)
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("store write failed" in m for m in msgs) == 1
    assert sum("succeed again" in m for m in msgs) == 1


@pytest.mark.parametrize(("steps", "want"), [
    # (monotonic advance s, wall step s) per cycle -> due? per cycle
    ([(0, 0), (10, 0), (3590, 0)], [True, False, True]),
    ([(0, 0), (10, 86400)], [True, False]),  # wall clock a day ahead: not due
    ([(0, 0), (10, -86400), (3590, 0)], [True, False, True]),  # a day back: still hourly
    ([(0, 0), (3599, 0), (1, 0), (3600, 0)], [True, False, True, True]),
])
def test_maintenance_is_due_by_monotonic_time_not_cycles_or_wall_steps(steps, want):
    clock = FakeClock()
    m = Maintenance(clock, every_s=3600)
    got = []
    for mono, wall in steps:
        clock.advance(mono)
        clock.set_wall(clock.time() + wall)
        got.append(m.due())
    assert got == want


CONFIG = """monitoring_interval: 10
dashboard_enabled: false
collectors: {enabled: [loadavg]}
hosts: [{name: far, address: "127.0.0.1:1", role: web, priority: high}]
scrape: {timeout: 2, down_after: 2}
rules:
  - {name: LocalUp, metric: autobot_host_up, match: {host: hub}, op: ">", threshold: 0,
     severity: low}
local_host: {name: hub}
"""


async def _hub(tmp_path, clock):
    p = tmp_path / "c.yaml"
    p.write_text(CONFIG)
    hub = Hub(load_config(str(p)), str(tmp_path / "d"), str(p), clock=clock)
    await hub.start()
    return hub


async def test_whole_cycles_on_the_fake_clock(tmp_path):
    clock = FakeClock(wall=NOW)
    hub = await _hub(tmp_path, clock)
    try:
        retention = []
        hub.store.enforce_retention = retention.append  # record when maintenance runs
        snaps = []
        for _ in range(3):
            clock.advance(10)
            snaps.append(await hub.run_cycle())
        assert [s.timestamp for s in snaps] == [NOW + 10, NOW + 20, NOW + 30]
        far, local = hub.hosts["far"], hub.hosts["hub"]
        assert local.up and local.summary["load1"] is not None
        assert not far.up and far.missed == 3 and far.summary == {}
        assert retention == [NOW + 10]  # once at start, not again within the hour
        clock.advance(3600)
        await hub.run_cycle()
        assert retention == [NOW + 10, NOW + 3630]
        assert "LocalUp" in _firing(hub)
    finally:
        await hub.close()


def _firing(hub) -> dict[str, float]:
    """Firing alerts of the local host: rule -> when it fired."""
    return {a.rule: a.fired_at for a in hub.alerts.engine.active("firing")
            if a.labels.get("host") == "hub"}


async def test_a_store_error_does_not_resolve_alerts(tmp_path, caplog):
    clock = FakeClock(wall=NOW)
    hub = await _hub(tmp_path, clock)
    try:
        clock.advance(10)
        await hub.run_cycle()
        before = _firing(hub)
        assert list(before) == ["LocalUp"]

        def broken(rows):
            raise StoreError("disk full")

        real_write, hub.store.write = hub.store.write, broken
        with caplog.at_level(logging.ERROR):
            for _ in range(3):
                clock.advance(10)
                await hub.run_cycle()
        assert _firing(hub) == before  # still firing, since the same moment
        assert sum("store write failed" in r.getMessage() for r in caplog.records) == 1
        hub.store.write = real_write
        clock.advance(10)
        await hub.run_cycle()
        errors = next(f for f in hub._hub_families() if f.name == "autobot_hub_store_errors_total")
        assert errors.samples[0].value == 3
        assert _firing(hub) == before
    finally:
        await hub.close()
