"""Config loading: defaults, the spec's keys, and FILE:LINE: key.path errors with exit code 2."""

import subprocess
import sys

import pytest

from autobot_monitor.config import load_config, parse_config
from autobot_monitor.errors import ConfigError

EXAMPLES = ["examples/autobot-six-vm.yaml", "examples/local.yaml"]


def test_no_file_means_local_host_with_defaults():
    cfg = load_config(None)
    assert cfg.dashboard_port == 9090
    assert cfg.dashboard_host == "127.0.0.1"
    assert cfg.local_host.enabled and cfg.hosts == [] and cfg.services == []
    assert cfg.alert_thresholds.cpu_percent == 80.0
    assert cfg.alert_thresholds.memory_percent == 85.0
    assert cfg.alert_thresholds.disk_percent == 90.0
    assert cfg.alert_thresholds.api_response_time == 5.0


@pytest.mark.parametrize("path", EXAMPLES)
def test_examples_validate(path):
    cfg = load_config(path)
    assert cfg.monitoring_interval > 0


def test_six_vm_example_has_the_specs_layout():
    cfg = load_config("examples/autobot-six-vm.yaml")
    assert {h.name for h in cfg.hosts} == {"frontend", "npu-worker", "redis", "ai-stack", "browser"}
    assert {h.priority for h in cfg.hosts if h.name == "redis"} == {"critical"}
    assert cfg.max_optimizations_per_hour == 3
    assert cfg.optimization_severity_threshold == "medium"


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        parse_config(text, "cfg.yaml")
    return ei.value.problems


def test_unknown_key_names_file_line_and_path():
    probs = _problems("monitoring_interval: 30\nalert_thresholds:\n  cpu_percent: 80\n  memroy_percent: 85\n")
    assert probs == ["cfg.yaml:4: alert_thresholds.memroy_percent: unknown key"]


def test_wrong_type_and_bad_value_in_a_list_item():
    text = ("hosts:\n"
            "  - name: a\n"
            "    address: 10.0.0.1:9100\n"
            "  - name: b\n"
            "    address: 10.0.0.2:9100\n"
            "    priority: urgent\n"
            "dashboard_port: lots\n")
    probs = _problems(text)
    assert "cfg.yaml:6: hosts[1].priority: Input should be 'critical', 'high', 'medium' or 'low'" in probs
    assert any(p.startswith("cfg.yaml:7: dashboard_port: ") for p in probs)


def test_service_discriminator_and_bad_url():
    probs = _problems("services:\n  - name: api\n    type: http\n    url: ftp://x\n")
    assert probs == ["cfg.yaml:4: services[0].url: must be an http:// or https:// URL"]
    probs = _problems("services:\n  - name: x\n    type: smtp\n")
    assert probs[0].startswith("cfg.yaml:2: services[0]: ")


def test_missing_required_key():
    probs = _problems("hosts:\n  - name: a\n")
    assert probs == ["cfg.yaml:2: hosts[0].address: required key is missing"]


def test_yaml_syntax_error_has_a_line():
    probs = _problems("a: [1, 2\nb: 3\n")
    assert probs[0].startswith("cfg.yaml:") and "(syntax)" in probs[0]


def test_duplicate_host_names_refused():
    probs = _problems("hosts:\n  - {name: a, address: 'h:1'}\n  - {name: a, address: 'h:2'}\n")
    assert probs == ["cfg.yaml:1: hosts: duplicate name 'a' (items [0] and [1])"]


def test_unknown_collector_refused():
    probs = _problems("collectors:\n  disabled: [cpu, bogus]\n")
    assert probs[0].startswith("cfg.yaml:2: collectors.disabled: unknown collector 'bogus'")


def test_collector_filters_are_re2_and_reach_the_local_collectors():
    probs = _problems("collectors:\n  netstat: {fields: '(?=x)'}\n")
    assert probs[0].startswith("cfg.yaml:2: collectors.netstat:") and "RE2" in probs[0]
    assert _problems("collectors:\n  arp: {device: eth0}\n")
    from autobot_monitor.clock import FakeClock
    from autobot_monitor.hub.inventory import local_runner

    cfg = parse_config("collectors:\n  enabled: [netstat]\n  netstat: {fields: '^Ip_'}\n", "c")
    (collector,) = local_runner(cfg, FakeClock()).collectors
    assert collector.options == {"fields": "^Ip_"}


def test_top_level_must_be_mapping():
    assert _problems("- 1\n- 2\n") == ["cfg.yaml:1: (top level): must be a mapping of keys to values"]


def test_check_config_cli_exit_codes(tmp_path):
    bad = tmp_path / "monitoring_config.yaml"
    bad.write_text("dashboard_port: 99999\nbogus: 1\n")
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "check-config", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}:1: dashboard_port: " in r.stderr
    assert f"{bad}:2: bogus: unknown key" in r.stderr
    ok = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "check-config",
                         "examples/local.yaml"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_start_with_bad_config_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("monitoring_interval: -5\n")
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "start", "--config", str(bad),
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{bad}:1: monitoring_interval: ")
    assert "Traceback" not in r.stderr


def test_self_referencing_alias_and_alias_bomb_are_clear_errors():
    with pytest.raises(ConfigError) as e:
        parse_config("rules: []\na: &a [*a]\n", "c.yaml")
    assert e.value.problems == ["c.yaml:2: (syntax): an alias refers to a value containing itself"]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        parse_config("\n".join(lines) + "\n", "c.yaml")
    # anchors and aliases of ordinary size still work (and unknown keys are reported as such)
    with pytest.raises(ConfigError, match="c.yaml:1: x: unknown key"):
        parse_config("x: &x {a: 1}\ny: *x\n", "c.yaml")
