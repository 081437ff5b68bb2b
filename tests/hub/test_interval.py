"""One interval: the hub names its cycle in each agent scrape and the agent collects on it, so
the window of every rate the agent computes is the hub's interval; an agent scraped without the
header (standalone, by Prometheus) keeps its own ``--interval``. In-process, on the fake clock."""

import httpx
import pytest

from autobot_monitor.agent.app import (
    FOLLOW_AFTER,
    MIN_CHANGE_GAP_S,
    Agent,
    create_agent_app,
    scrape_interval,
)
from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.runner import CollectorRunner
from autobot_monitor.config.loader import parse_config
from autobot_monitor.exposition import INTERVAL_HEADER
from autobot_monitor.hub.inventory import scrape_targets
from autobot_monitor.hub.scrape import scrape

HUB = parse_config('monitoring_interval: 10\nhosts: [{name: a1, address: "a1:9100"}]\n'
                   'targets: [{job: node, url: "http://n1:9100/metrics"}]\n')


def _agent(clock: FakeClock, interval: float = 5.0):
    agent = Agent(CollectorRunner([], timeout=5), interval=interval, hostname="a1", clock=clock)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_agent_app(agent)),
                               base_url="http://a1:9100")
    return agent, client


async def _collections(agent: Agent, clock: FakeClock, seconds: int) -> list[float | None]:
    """Tick the agent each second for ``seconds``; the window of each collection made."""
    out = []
    for _ in range(seconds):
        clock.advance(1)
        before = agent.snapshot
        await agent.tick()
        if agent.snapshot is not before:
            out.append(agent.snapshot.window_s)
    return out


def test_only_agent_targets_carry_the_hub_interval():
    agent_t, plain_t = scrape_targets(HUB)
    assert agent_t.interval_s == 10 and plain_t.interval_s is None


async def test_hub_scrapes_make_the_rate_window_the_hub_interval():
    clock = FakeClock()
    agent, client = _agent(clock)
    target = scrape_targets(HUB)[0]
    assert await _collections(agent, clock, 6) == [None, 5.0]  # its own 5 s until scraped
    for _ in range(FOLLOW_AFTER):  # scrapes at the hub interval: adopted at the last of them
        assert agent.interval == 5
        assert (await scrape(client, target, 5, clock.time())).ok
        await _collections(agent, clock, 10)
    assert agent.interval == 10
    for _ in range(2):
        assert (await scrape(client, target, 5, clock.time())).ok
        assert await _collections(agent, clock, 10) == [10.0]
    snap = (await client.get("/api/v1/snapshot")).json()
    assert snap["interval_seconds"] == 10 and snap["window_seconds"] == 10
    await client.aclose()


async def _named(client: httpx.AsyncClient, value: str) -> None:
    assert (await client.get("/metrics", headers={INTERVAL_HEADER: value})).status_code == 200


async def test_one_request_or_a_burst_naming_an_interval_changes_nothing(caplog):
    clock = FakeClock()
    agent, client = _agent(clock)
    await _collections(agent, clock, 1)
    await _named(client, "3600")  # one request
    for _ in range(50):  # a burst naming one value, not spaced like a scraper at 3600 s
        clock.advance(0.01)
        await _named(client, "3600")
    for i in range(200):  # a client flipping values as fast as it can
        clock.advance(0.01)
        await _named(client, "0.5" if i % 2 else "0.6")
    assert agent.interval == 5
    assert "collecting every" not in caplog.text
    await client.aclose()


async def test_a_second_scraper_with_another_interval_keeps_the_agent_on_its_interval():
    clock = FakeClock()
    agent, client = _agent(clock)
    await _collections(agent, clock, 1)
    for _ in range(4 * FOLLOW_AFTER):  # a hub at 10 s, a second scraper at 15 s in between
        await _named(client, "10")
        clock.advance(5)
        await _named(client, "15")
        clock.advance(5)
    assert agent.interval == 5
    await client.aclose()


async def test_the_adopted_interval_changes_at_most_once_a_minute():
    clock = FakeClock()
    agent, client = _agent(clock)
    await _collections(agent, clock, 1)
    for value in ("1", "2"):  # a hub reloaded to another interval right away
        for _ in range(FOLLOW_AFTER):
            await _named(client, value)
            clock.advance(float(value))
    assert agent.interval == 1
    clock.advance(MIN_CHANGE_GAP_S)
    for _ in range(FOLLOW_AFTER):
        await _named(client, "2")
        clock.advance(2)
    assert agent.interval == 2
    await client.aclose()


async def test_standalone_agent_scraped_without_the_header_keeps_its_interval():
    clock = FakeClock()
    agent, client = _agent(clock, interval=5.0)
    await _collections(agent, clock, 1)
    for _ in range(3):  # e.g. Prometheus every 15 s: no collection follows it
        assert (await client.get("/metrics")).status_code == 200
        assert await _collections(agent, clock, 15) == [5.0, 5.0, 5.0]
    assert agent.interval == 5
    await client.aclose()


@pytest.mark.parametrize(("value", "want"), [
    ("10", 10.0), ("0.5", 0.5), ("2.5", 2.5), (None, None), ("0", None), ("-1", None),
    ("nan", None), ("inf", None), ("3601", None), ("ten", None),
])
def test_scrape_interval_header_is_bounded(value, want):
    assert scrape_interval({INTERVAL_HEADER: value} if value is not None else {}) == want
