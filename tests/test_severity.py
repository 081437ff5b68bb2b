"""One Severity: ordered by rank (low < medium < high < critical), listed most severe first,
parsed from the config/API strings and written back as them."""

import json

import pytest
from pydantic import ValidationError

from autobot_monitor.alerts.config import ChannelConfig, RuleConfig
from autobot_monitor.severity import SEVERITY_VALUES, Severity


def test_order_by_rank_and_listing_most_severe_first():
    assert Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert sorted(["critical", "low", "high", "medium"], key=Severity.parse) == \
        ["low", "medium", "high", "critical"]  # not alphabetical
    assert max(Severity.HIGH, Severity.LOW) is Severity.HIGH
    assert [s.value for s in Severity] == list(SEVERITY_VALUES) == ["critical", "high", "medium", "low"]
    assert [s.rank for s in Severity] == [3, 2, 1, 0]


def test_compares_with_its_strings_and_nothing_else():
    assert Severity.HIGH >= "medium" and "low" < Severity.MEDIUM and Severity.HIGH == "high"
    with pytest.raises(TypeError):
        _ = Severity.LOW < "urgent"
    with pytest.raises(TypeError):
        _ = Severity.LOW < 1


def test_raised_one_step():
    assert [s.raised() for s in Severity] == [Severity.CRITICAL, Severity.CRITICAL,
                                               Severity.HIGH, Severity.MEDIUM]


def test_parse_and_string_values_in_config_and_json():
    assert Severity.parse("high") is Severity.HIGH
    with pytest.raises(ValueError, match="unknown severity 'urgent': expected critical"):
        Severity.parse("urgent")
    r = RuleConfig.model_validate({"name": "R", "metric": "node_load1", "threshold": 1,
                                   "severity": "critical"})
    assert r.severity is Severity.CRITICAL
    assert json.loads(r.model_dump_json())["severity"] == "critical"
    assert json.dumps({"s": Severity.LOW}) == '{"s": "low"}' and f"{Severity.LOW}" == "low"
    with pytest.raises(ValidationError):
        ChannelConfig.model_validate({"name": "c", "type": "webhook", "url": "http://x",
                                      "min_severity": "urgent"})
