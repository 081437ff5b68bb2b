"""Rule configuration is validated at load: file, line and reason; export is promtool-clean."""

import shutil
import subprocess
import sys

import pytest

from autobot_monitor.alerts.defaults import effective_rules
from autobot_monitor.alerts.promrules import export_rules
from autobot_monitor.config import parse_config
from autobot_monitor.errors import ConfigError


def problems(text):
    with pytest.raises(ConfigError) as ei:
        parse_config(text, "c.yaml")
    return ei.value.problems


def test_rule_on_a_metric_nothing_emits_is_refused():
    p = problems("rules:\n  - name: Dead\n    metric: autobot_cpu_usage_ratio\n    threshold: 1\n")
    assert p == ["c.yaml:3: rules[0].metric: no collector or check emits 'autobot_cpu_usage_ratio'"]


def test_bad_regex_unknown_severity_bad_duration():
    p = problems("rules:\n"
                 "  - name: A\n    metric: node_load1\n    threshold: 1\n    match: {host: '~('}\n"
                 "  - name: B\n    metric: node_load1\n    threshold: 1\n    severity: urgent\n"
                 "  - name: C\n    metric: node_load1\n    threshold: 1\n    for: soon\n")
    assert any(x.startswith("c.yaml:5: rules[0].match: ") and "regular expression" in x for x in p)
    assert any(x.startswith("c.yaml:9: rules[1].severity: ") for x in p)
    assert any(x.startswith("c.yaml:13: rules[2].for: ") and "duration" in x for x in p)


def test_clear_on_the_wrong_side_and_prediction_without_target():
    p = problems("rules:\n  - {name: A, metric: node_load1, op: '>', threshold: 5, clear: 6}\n"
                 "  - {name: B, metric: node_load1, fn: time_to_threshold, threshold: 60}\n")
    assert any("clear must not be above threshold" in x for x in p)
    assert any("needs a target" in x for x in p)


def test_application_metrics_are_allowed_and_configured_rules_replace_defaults():
    cfg = parse_config("rules:\n  - {name: HighCpuUsage, metric: autobot_cpu_busy_percent, threshold: 50}\n"
                       "  - {name: AppErrors, metric: myapp_errors_total, fn: rate, window: 5m, threshold: 1}\n")
    rules = {r.name: r for r in effective_rules(cfg)}
    assert rules["HighCpuUsage"].threshold == 50
    assert "AppErrors" in rules and "ServiceDown" in rules


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_exported_rules_pass_promtool(tmp_path):
    cfg = parse_config("rules:\n"
                       "  - {name: Load, metric: node_load1, match: {host: '~web.*', job: '!x'}, threshold: 4,"
                       " for: 2m, keep_firing_for: 5m, summary: 'load {{ value }} on {{ host }}'}\n"
                       "  - {name: Anom, metric: node_load1, fn: anomaly, threshold: 6}\n")
    out = tmp_path / "rules.yml"
    out.write_text(export_rules(effective_rules(cfg)))
    r = subprocess.run(["promtool", "check", "rules", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    text = out.read_text()
    assert 'node_load1{host=~"web.*",job!="x"} > 4' in text
    assert "Not exportable (no PromQL equivalent): Anom" in text
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "export-rules"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "HighCpuUsage" in r.stdout
