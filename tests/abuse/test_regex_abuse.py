"""User regexes against a real hub process: a catastrophic-backtracking pattern on the history
API answers promptly while the hub keeps cycling, silences with such a pattern do not hold up
the cycle (matching is RE2, fully anchored), and every cap is a 400 that names it. The host name
is long so that a backtracking engine would never finish ``(.*.*)*X`` on it."""

from __future__ import annotations

import threading

import httpx
import pytest

from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.alerts.silences import MAX_SILENCES
from autobot_monitor.clock import FakeClock
from support import HubProcess, wait_until

pytestmark = pytest.mark.timeout(120)

HOST = "abuse-" + "a" * 50
EVIL = "(.*.*)*X"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubProcess(tmp_path_factory.mktemp("regex"), {
            "dashboard_enabled": False, "local_host": {"name": HOST},
            "collectors": {"disabled": ["gpu", "npu", "sensors", "processes", "diskstats",
                                        "filesystem", "netdev"]},
            "rules": [{"name": "AlwaysUp", "metric": "autobot_uptime_seconds", "threshold": 0,
                       "severity": "low", "category": "system"}]}) as hub:
        hub.wait_cycles(1)
        yield hub.url


def cycles(url: str) -> int:
    return httpx.get(url + "/api/system/status", timeout=10).json()["cycles"]


def history(url: str, *matchers: str, timeout: float = 30) -> httpx.Response:
    return httpx.get(url + "/api/metrics/history", timeout=timeout,
                     params={"metric": "autobot_uptime_seconds", "start": "now-5m",
                             "match": list(matchers)})


def test_catastrophic_regex_on_history_answers_while_the_hub_keeps_cycling(hub):
    wait_until(lambda: history(hub, f"host={HOST}").json()["series"], 30, 0.3, "stored history")
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def fire():  # evil queries back to back for as long as the main thread watches the hub
        while not stop.is_set():
            answers.append(history(hub, f"host=~{EVIL}"))
            answers.append(history(hub, "host=~(a|aa)*c", "host!~(.*){1,32}[0-9]"))

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    try:
        c0 = cycles(hub)
        wait_until(lambda: httpx.get(hub + "/healthz", timeout=10).status_code == 200
                   and cycles(hub) >= c0 + 2 and len(answers) >= 4, 60, 0.2, "cycles during evil queries")
    finally:
        stop.set()
        t.join(60)
    assert all(r.status_code == 200 and r.json()["series"] == [] for r in answers)
    # anchored, RE2: a partial match is no match; .* and a class match the whole value
    assert history(hub, "host=~abuse").json()["series"] == []
    assert history(hub, "host=~abuse-a+").json()["series"]
    assert history(hub, "host!~abuse-.*").json()["series"] == []


@pytest.mark.parametrize("matcher, cap", [
    ("host=~" + "a" * 1025, "max_regex_bytes=1024"),
    (r"host=~(a)\1", "RE2 syntax"),
    ("host=~(?=a)", "RE2 syntax"),
    ("host=~" + "\\pL{1000}", "max_mem"),
])
def test_history_regex_caps_are_400s_naming_the_cap(hub, matcher, cap):
    r = history(hub, matcher)
    assert r.status_code == 400 and cap in r.json()["error"], r.text


def test_history_matcher_count_cap(hub):
    assert history(hub, *[f"l{i}=~.*" for i in range(32)]).status_code == 200
    r = history(hub, *[f"l{i}=~.*" for i in range(33)])
    assert r.status_code == 400 and "max_matchers=32" in r.json()["error"]


def test_silences_with_evil_regexes_do_not_slow_cycles_and_match_anchored(hub):
    def silence(matchers, **kw) -> httpx.Response:
        return httpx.post(hub + "/api/silences", json={"matchers": matchers, "duration": "10m", **kw},
                          timeout=10)

    evil = [silence({"host": "~" + EVIL, "alertname": "~" + EVIL}) for _ in range(5)]
    assert all(r.status_code == 201 for r in evil)
    partial = silence({"host": "~abuse"}).json()["id"]  # anchored: does not match the host
    c0 = cycles(hub)
    wait_until(lambda: cycles(hub) >= c0 + 2, 60, 0.2, "cycles with evil silences")

    def alert():
        return next((a for a in httpx.get(hub + "/api/alerts", timeout=10).json()["alerts"]
                     if a["rule"] == "AlwaysUp"), None)
    a = wait_until(alert, 60, 0.3, "AlwaysUp alert")
    assert a["labels"]["host"] == HOST and a.get("silenced_by") in (None, "")
    whole = silence({"host": "~abuse-a+", "alertname": "AlwaysUp"}).json()["id"]
    wait_until(lambda: alert()["silenced_by"] == whole, 30, 0.3, "silenced by the anchored match")
    for sid in [partial, whole, *(r.json()["id"] for r in evil)]:
        assert httpx.delete(f"{hub}/api/silences/{sid}", timeout=10).status_code == 200


@pytest.mark.parametrize("body, cap", [
    ({"matchers": {f"l{i}": "x" for i in range(33)}}, "max_matchers=32"),
    ({"matchers": {"host": "~" + "a" * 1025}}, "max_regex_bytes=1024"),
    ({"matchers": {"host": r"~(a)\1"}}, "RE2 syntax"),
    ({"matchers": {"host": "x"}, "comment": "c" * 1001}, "1000 characters"),
    ({"matchers": {"not-a-label": "x"}}, "not a valid label name"),
])
def test_silence_caps_are_400s_naming_the_cap(hub, body, cap):
    r = httpx.post(hub + "/api/silences", json=body, timeout=10)
    assert r.status_code == 400 and cap in r.json()["error"], r.text


def test_silence_count_cap_drops_expired_first_then_refuses():
    clock = FakeClock(wall=1_000_000.0)
    eng = AlertEngine(clock)
    ids = [eng.add_silence({"host": f"h{i}"}, 60, "", "t").id for i in range(MAX_SILENCES)]
    with pytest.raises(ValueError, match=f"max_silences={MAX_SILENCES}"):
        eng.add_silence({"host": "one-more"}, 60, "", "t")
    eng.expire_silence(ids[0])
    eng.add_silence({"host": "one-more"}, 60, "", "t")  # the expired one made room
    assert len(eng.silences) == MAX_SILENCES and ids[0] not in eng.silences
    # a state file from before the caps: oversized silences are skipped on load
    state = eng.to_state()
    state["silences"][0]["matchers"] = {f"l{i}": "x" for i in range(40)}
    again = AlertEngine(clock)
    again.load_state(state)
    assert len(again.silences) == MAX_SILENCES - 1


@pytest.mark.parametrize("yaml_text, where", [
    ("privacy: {redact_process_names: ['(a)\\1']}", "privacy.redact_process_names"),
    ("rules: [{name: R, metric: autobot_uptime_seconds, threshold: 1, match: {host: '~(?=x)'}}]",
     "rules[0].match"),
    ("rules: [{name: R, metric: autobot_uptime_seconds, threshold: 1, match: {host: '~" + "a" * 1025 + "'}}]",
     "max_regex_bytes=1024"),
])
def test_config_regexes_are_re2_with_a_clear_error(yaml_text, where):
    from autobot_monitor.config.loader import parse_config
    from autobot_monitor.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        parse_config(yaml_text, "c.yaml")
    assert where in str(e.value) and "c.yaml:1" in str(e.value)
