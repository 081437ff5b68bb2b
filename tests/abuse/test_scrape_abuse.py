"""A real hub process scraping a hostile target (tests/abuse/evil_target.py): it keeps cycling,
its memory stays bounded, every bad scrape is ``up`` 0 with its reason and stores nothing, target
labels stay authoritative, and SIGTERM ends it promptly even in the middle of a hung scrape."""

from __future__ import annotations

import re
import signal
import subprocess

import httpx
import psutil
import pytest
from evil_target import EvilTarget

from autobot_monitor.exposition import parse
from support import HubProcess, wait_until

pytestmark = pytest.mark.timeout(180)

BAD = {"endless": "body_size_limit", "bomb": "body_size_limit", "many": "sample_limit",
       "labels": "label_limit", "hung": "timeout"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    evil, stuck = EvilTarget(), EvilTarget(hang_metrics=True)
    hub = HubProcess(tmp_path_factory.mktemp("abuse"), {
        "monitoring_interval": 2, "local_host": {"enabled": False},
        "scrape": {"timeout": 1.5, "body_size_limit": 4194304},
        "logging": {"performance_jsonl": False},
        "hosts": [{"name": "agent-evil", "address": evil.address},
                  {"name": "stuck", "address": stuck.address}],
        "targets": [{"job": j, "url": evil.url("/" + j)} for j in [*BAD, "spoof"]]})
    try:
        hub.wait_cycles(3)
        yield {"url": hub.url, "hub": hub, "evil": evil}
    finally:
        hub.stop()
        evil.stop()
        stuck.stop()


def exposition(url: str) -> dict:
    """{(name, frozenset(labels)): value} of the hub's /metrics."""
    fams = parse(httpx.get(f"{url}/metrics", timeout=10).text)
    return {(s.name, frozenset(s.labels)): s.value for f in fams for s in f.samples}


def test_bad_scrapes_are_up_0_with_their_reason_and_store_nothing(world):
    url = world["url"]
    m = exposition(url)
    up = {dict(k[1])["job"]: v for k, v in m.items() if k[0] == "up"}
    assert {j: up[j] for j in BAD} == dict.fromkeys(BAD, 0.0)
    assert up["spoof"] == 1.0
    failed = {(dict(k[1])["job"], dict(k[1])["reason"]) for k, v in m.items()
              if k[0] == "autobot_scrape_failures_total" and v >= 1}
    assert set(BAD.items()) <= failed
    names = httpx.get(f"{url}/api/metrics/names", timeout=10).json()["metrics"]
    assert "evil_spoof" in names
    assert not {"evil_many", "evil_labels"} & set(names)
    log = world["hub"].output()
    assert len(re.findall(r"scrape of many 127\.0\.0\.1:\d+ failed: sample_limit", log)) == 1, log


def test_hub_keeps_cycling_with_bounded_memory(world):
    world["hub"].wait_more_cycles(2)
    rss = psutil.Process(world["hub"].pid).memory_info().rss
    assert rss < 400 * 1024 * 1024, f"hub RSS {rss / 2**20:.0f} MiB"


def test_host_card_says_why_the_last_scrape_failed(world):
    hosts = httpx.get(f"{world['url']}/api/metrics/current", timeout=10).json()["hosts"]
    stuck = hosts["stuck"]
    assert stuck["last_scrape_error"] == "timeout"
    assert stuck["scrape_failures_recent"] == stuck["scrape_window"] >= 3
    assert re.fullmatch(r"last scrape failed: timeout \((\d+) of the last \1\)", stuck["error"])
    ok = hosts["agent-evil"]
    assert ok["error"] is None and ok["last_scrape_error"] is None
    assert ok["scrape_failures_recent"] == 0 and ok["scrape_window"] >= 3


def test_target_labels_win_over_spoofed_ones(world):
    url = world["url"]

    def series(**params):
        r = httpx.get(f"{url}/api/metrics/history", params={"metric": "evil_spoof", **params},
                      timeout=10)
        return [s["labels"] for s in r.json()["series"]]

    assert series(host="victim") == []
    got = sorted(series(), key=lambda lab: lab.get("job", ""))
    evil = world["evil"]
    assert got == [
        {"host": "agent-evil", "exported_host": "victim", "exported_job": "x",
         "exported_instance": "y"},
        {"job": "spoof", "instance": evil.address, "exported_host": "victim",
         "exported_job": "x", "exported_instance": "y"}]


def test_sigterm_is_prompt_during_a_hung_scrape(tmp_path):
    """A 50 s scrape timeout on a target that never answers: SIGTERM still ends the hub at once
    (before, it waited for the scrape to time out)."""
    evil = EvilTarget()
    hub = HubProcess(tmp_path, {"monitoring_interval": 60, "local_host": {"enabled": False},
                                "scrape": {"timeout": 50},
                                "targets": [{"job": "hung", "url": evil.url("/hung")}]})
    try:
        wait_until(lambda: "/hung" in evil.requests, 60, what="the hung scrape in flight")
        hub.send_signal(signal.SIGTERM)
        try:
            rc = hub.wait(30)  # generous; the scrape alone would take 50 s
        except subprocess.TimeoutExpired:
            pytest.fail("hub still running 30 s after SIGTERM during a hung scrape")
        assert rc == 0, hub.output()
    finally:
        hub.stop()
        evil.stop()
