"""One matcher grammar (PromQL ``= != =~ !~``, RE2, fully anchored) for store queries, rule
``match`` and silences; the old ``"~re"``/``"!v"`` mapping spelling gives the same results."""

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autobot_monitor.alerts.config import RuleConfig
from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.alerts.service import Selector
from autobot_monitor.clock import FakeClock
from autobot_monitor.config.loader import parse_config
from autobot_monitor.matchers import (
    Matcher,
    MatcherError,
    from_legacy,
    match_all,
    matchers_from,
    parse_matcher,
    parse_matchers,
)
from autobot_monitor.model import MetricFamily

LABEL_SETS = [{}, {"host": "web"}, {"host": "web-1"}, {"host": "db", "job": "node"},
              {"host": "web\nx", "job": "agent"}, {"job": "x"}, {"host": ""}]
# the same selections in both spellings
PAIRS = [
    ({"host": "web"}, ["host=web"]),
    ({"host": "!web"}, ["host!=web"]),
    ({"host": "~web.*"}, ["host=~web.*"]),
    ({"host": "~web", "job": "!node"}, ["host=~web", "job!=node"]),
    ({"host": ""}, ['host=""']),
    ({"host": "~"}, ["host=~"]),
]


def hits(ms, sets=LABEL_SETS):
    return [i for i, labels in enumerate(sets) if match_all(ms, labels)]


@pytest.mark.parametrize("text, op, value", [
    ("host=a", "=", "a"), ("host!=a", "!=", "a"), ("host=~a.*", "=~", "a.*"),
    ("host!~a|b", "!~", "a|b"), (' host = "a b"', "=", "a b"), ("host=", "=", ""),
    ('host=""x""', "=", '"x"'), ('host=" "x" "', "=", ' "x" '), ("host= x", "=", " x"),
])
def test_parse_each_operator(text, op, value):
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == ("host", op, value)
    assert parse_matcher(str(m)) == m  # str() reads back


def test_regexes_are_fully_anchored_and_dot_matches_newline():
    assert hits([parse_matcher("host=~web")]) == [1]
    assert hits([parse_matcher("host=~web.*")]) == [1, 2, 4]
    assert hits([parse_matcher("host!~web.*")]) == [0, 3, 5, 6]
    assert parse_matcher("host=~eb").matches({"host": "web"}) is False  # not a search


def test_missing_label_is_the_empty_string():
    assert hits([parse_matcher('host=""')]) == [0, 5, 6]
    assert hits([parse_matcher("host!=web")]) == [0, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("text, words", [
    ("host~web", "expected NAME=VALUE"),
    ("1host=a", "'1host' is not a valid label name"),
    ("a-b=~x", "'a-b' is not a valid label name"),
    ("=x", "expected NAME=VALUE"),
    ("host=~(a)\\1", "RE2 syntax"),           # backreference
    ("host=~(?=a)b", "RE2 syntax"),           # lookahead
    ("host=~(", "bad regular expression"),
    ("host=~" + "a" * 1025, "max_regex_bytes=1024"),
    ("host=" + "a" * 1025, "max_regex_bytes=1024"),
    ("host=~\\pL{1000}", "max_mem"),
])
def test_bad_matchers_say_why(text, words):
    with pytest.raises(MatcherError) as ei:
        parse_matcher(text)
    assert words in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_catastrophic_pattern_is_linear_time_re2():
    m = parse_matcher("host=~(.*.*)*X")
    assert m.matches({"host": "a" * 50_000}) is False
    assert m.matches({"host": "a" * 50_000 + "X"}) is True


def test_caps_and_bad_names():
    with pytest.raises(MatcherError, match="max_matchers=32"):
        parse_matchers([f"l{i}=x" for i in range(33)])
    with pytest.raises(MatcherError, match="max_matchers=32"):
        matchers_from({f"l{i}": "x" for i in range(33)})
    with pytest.raises(MatcherError, match="not a valid label name"):
        Matcher.make("not-a-label", "=", "x")
    with pytest.raises(MatcherError, match="unknown operator"):
        Matcher.make("a", "==", "x")
    with pytest.raises(MatcherError, match="must be a string"):
        matchers_from({"a": 1})
    with pytest.raises(MatcherError, match="list of matchers"):
        matchers_from("a=b")


@pytest.mark.parametrize("old, new", PAIRS)
def test_old_and_new_spelling_select_the_same(old, new):
    assert matchers_from(old) == matchers_from(new)
    assert hits(matchers_from(old)) == hits(parse_matchers(new))


def test_legacy_value_spelling():
    assert from_legacy("a", "~x|y") == Matcher("a", "=~", "x|y")
    assert from_legacy("a", "!x") == Matcher("a", "!=", "x")
    assert from_legacy("a", "x") == Matcher("a", "=", "x")


@pytest.mark.parametrize("old, new", PAIRS)
def test_rules_select_the_same_in_both_spellings(old, new):
    fam = MetricFamily("node_load1", "gauge", "load")
    for i, labels in enumerate(LABEL_SETS * 4):  # > 16 rows: the equality index is used too
        fam.add(i, labels)
    sel = Selector({"node_load1": fam.samples})
    picks = []
    for match in (old, new):
        r = RuleConfig.model_validate({"name": "R", "metric": "node_load1", "threshold": 1,
                                       "match": match})
        picks.append(sorted(v for _, v in sel.select("node_load1", r.match)))
    assert picks[0] == picks[1]
    assert len(picks[0]) == 4 * len(hits(matchers_from(new)))


def test_old_spelling_in_config_logs_once_naming_file_and_key(caplog):
    text = ("rules:\n  - name: R\n    metric: node_load1\n    threshold: 1\n"
            "    match: {host: '~web.*', job: node}\n")
    with caplog.at_level(logging.WARNING, "autobot_monitor.config.loader"):
        cfg = parse_config(text, "old.yaml")
        parse_config(text, "old.yaml")  # a reload: not logged again
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1
    assert warned[0].startswith("old.yaml:5: rules[0].match.host: ") and "host=~web.*" in warned[0]
    assert cfg.rules[0].match == (Matcher("host", "=~", "web.*"), Matcher("job", "=", "node"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, "autobot_monitor.config.loader"):
        parse_config(text.replace("{host: '~web.*', job: node}", "['host=~web.*', job=node]"), "new.yaml")
    assert caplog.records == []


def test_silences_match_the_same_in_both_spellings():
    eng = AlertEngine(FakeClock())
    for old, new in PAIRS:
        a, b = eng.add_silence(old, 60, "", "t"), eng.add_silence(new, 60, "", "t")
        assert a.matchers == b.matchers
        assert [a.matches(x) for x in LABEL_SETS] == [b.matches(x) for x in LABEL_SETS]


def test_silence_api_takes_both_spellings_and_answers_texts():
    from autobot_monitor.web.alerts_routes import build_router

    class Hub:  # the two attributes the alert routes read
        clock = FakeClock()
        alerts = type("Alerts", (), {"engine": AlertEngine(clock)})()

    app = FastAPI()
    app.include_router(build_router(Hub()))
    c = TestClient(app)
    old = c.post("/api/silences", json={"matchers": {"host": "~web.*", "job": "!node"}})
    new = c.post("/api/silences", json={"matchers": ["host=~web.*", "job!=node"]})
    assert old.status_code == new.status_code == 201
    assert old.json()["matchers"] == new.json()["matchers"] == ["host=~web.*", "job!=node"]
    assert [w.split(":")[0] for w in old.json()["warnings"]] == ["matchers.host", "matchers.job"]
    assert "host=~web.*" in old.json()["warnings"][0] and "warnings" not in new.json()
    listed = c.get("/api/silences").json()["silences"]
    assert [s["matchers"] for s in listed] == [["host=~web.*", "job!=node"]] * 2
    bad = c.post("/api/silences", json={"matchers": ["host=~(a)\\1"]})
    assert bad.status_code == 400 and "RE2 syntax" in bad.json()["error"]
    # a state file: silences written in the old mapping form load too
    state = Hub.alerts.engine.to_state()
    state["silences"][0]["matchers"] = {"host": "~web.*", "job": "!node"}
    again = AlertEngine(Hub.clock)
    again.load_state(state)
    assert {s.matchers for s in again.silences.values()} == {
        (Matcher("host", "=~", "web.*"), Matcher("job", "!=", "node"))}
    plain = c.post("/api/silences", json={"matchers": {"host": "web1"}})  # a mapping without ~ or !
    assert plain.status_code == 201 and "['host=web1']" in plain.json()["warnings"][0]
