"""deploy/prometheus and deploy/alertmanager checked by promtool and amtool: the committed rules
are a fresh `autobot-monitor export-rules`, the scrape configs are valid, Alertmanager routes each
severity where the file says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_support import DEPLOY, REPO, tool

from autobot_monitor.catalog import all_specs

PROMTOOL = tool("promtool")
AMTOOL = tool("amtool")
RULES = DEPLOY / "prometheus" / "autobot-rules.yml"
AM_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason="promtool not installed (Debian: prometheus)")
needs_amtool = pytest.mark.skipif(
    not AMTOOL, reason="amtool not installed (Debian: prometheus-alertmanager; scripts/ensure-test-tools.sh)")


def test_committed_rules_are_a_fresh_export(tmp_path: Path):
    out = tmp_path / "rules.yml"
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "export-rules", "--config",
                        str(REPO / "examples/autobot-six-vm.yaml"), "--out", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert RULES.read_text() == out.read_text(), (
        "deploy/prometheus/autobot-rules.yml is stale: autobot-monitor export-rules "
        "--config examples/autobot-six-vm.yaml --out deploy/prometheus/autobot-rules.yml")


@needs_promtool
def test_rules_pass_promtool():
    r = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@needs_promtool
@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus-at-scale.yml"])
def test_scrape_configs_pass_promtool(name: str):
    path = DEPLOY / "prometheus" / name
    r = subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = yaml.safe_load(path.read_text())
    assert cfg["rule_files"] == ["autobot-rules.yml"]


def test_at_scale_hub_job_keeps_only_what_agents_cannot_give():
    cfg = yaml.safe_load((DEPLOY / "prometheus/prometheus-at-scale.yml").read_text())
    agents = next(j for j in cfg["scrape_configs"] if j["job_name"] == "autobot-agent")
    assert all("host" in sc["labels"] for sc in agents["static_configs"])  # dashboards select by host
    hub = next(j for j in cfg["scrape_configs"] if j["job_name"] == "autobot-hub")
    keep = next(r for r in hub["metric_relabel_configs"] if r["action"] == "keep")
    pattern = re.compile(keep["regex"])
    kept = {s.name for src, specs in all_specs() for s in specs if pattern.fullmatch(s.name)}
    for src, specs in all_specs():
        for s in specs:
            if src.startswith("collector"):
                assert s.name not in kept, f"{s.name} comes from the agents, the hub copy would duplicate it"
            elif src in ("service checks", "alerts", "hub: self"):
                assert s.name in kept, f"{s.name} ({src}) only the hub measures; it must be kept"


@needs_amtool
def test_alertmanager_config_passes_amtool():
    r = subprocess.run([AMTOOL, "check-config", str(AM_CONFIG)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@needs_amtool
@pytest.mark.parametrize("labels, receiver", [
    (["severity=critical", "alertname=ServiceDown"], "oncall-pager"),
    (["severity=high", "alertname=HighCpuUsage"], "ops-chat"),
    (["severity=medium", "alertname=SlowResponse"], "ops-email"),
    (["severity=low", "alertname=Whatever"], "ops-email"),
])
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str):
    r = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={AM_CONFIG}", *labels],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == receiver


def test_every_exported_severity_has_a_route():
    severities = {r["labels"]["severity"] for g in yaml.safe_load(RULES.read_text())["groups"]
                  for r in g["rules"]}
    routes = yaml.safe_load(AM_CONFIG.read_text())["route"]["routes"]
    routed = " ".join(m for r in routes for m in r["matchers"])
    assert severities <= {"critical", "high", "medium", "low"}
    for s in severities:
        assert s in routed, s
