"""Agent ``--collector.systemd.*`` / ``--collector.smart.*`` flags and the hub's ``collectors:``
options reach the collectors; a bad RE2 pattern is refused up front."""

from __future__ import annotations

import pytest

from autobot_monitor.agent.collector_flags import collector_options
from autobot_monitor.cli import build_parser, main
from autobot_monitor.clock import FakeClock
from autobot_monitor.config.models import MonitorConfig
from autobot_monitor.hub.inventory import local_runner


def test_flags_become_collector_options():
    args = build_parser().parse_args([
        "agent", "--collector.systemd.unit-include", r".+\.(service|timer)",
        "--collector.systemd.unit-exclude", "apt-.*", "--collector.systemd.scope", "user",
        "--collector.smart.smartctl-path",
        "/opt/smartctl", "--collector.smart.device", "/dev/sda;sat",
        "--collector.smart.device", "/dev/nvme0", "--collector.smart.device-exclude", "loop.*",
        "--collector.smart.timeout", "9"])
    assert collector_options(args) == {
        "systemd": {"unit_include": r".+\.(service|timer)", "unit_exclude": "apt-.*",
                    "scope": "user"},
        "smart": {"smartctl_path": "/opt/smartctl", "devices": ["/dev/sda;sat", "/dev/nvme0"],
                  "device_exclude": "loop.*", "timeout": 9.0}}


def test_no_flags_no_options():
    assert collector_options(build_parser().parse_args(["agent"])) == {}


@pytest.mark.parametrize("flag", ["--collector.systemd.unit-include",
                                  "--collector.smart.device-exclude"])
def test_a_bad_regex_is_a_usage_error(flag, capsys):
    with pytest.raises(SystemExit) as e:
        main(["agent", flag, "(a)\\1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "Traceback" not in err


def test_hub_config_options_reach_the_local_collectors():
    cfg = MonitorConfig.model_validate({"collectors": {
        "enabled": ["systemd", "smart"],
        "systemd": {"unit_include": r"nginx\.service"},
        "smart": {"devices": ["/dev/sda;sat"], "device_include": "sd.", "timeout": 7}}})
    runner = local_runner(cfg, FakeClock())
    try:
        by_name = {c.name: c for c in runner.collectors}
        assert by_name["systemd"].options == {"unit_include": r"nginx\.service", "scope": "system",
                                              "timeout": 4.0}
        assert by_name["smart"].options == {"devices": ["/dev/sda;sat"], "device_include": "sd.",
                                            "timeout": 7.0}
    finally:
        runner.close()


def test_interval_flag_and_config_reach_the_runner_schedule():
    args = build_parser().parse_args(["agent", "--collector.interval", "smart=600",
                                      "--collector.interval", "cpu=0"])
    assert collector_options(args) == {"smart": {"interval": 600.0}, "cpu": {"interval": 0.0}}
    cfg = MonitorConfig.model_validate({"collectors": {"intervals": {"smart": 600, "cpu": 0,
                                                                     "processes": 30}}})
    runner = local_runner(cfg, FakeClock())
    try:
        by_name = {c.name: c.interval() for c in runner.collectors}
        assert by_name["smart"] == 600 and by_name["processes"] == 30
        assert by_name["cpu"] is None and by_name["containers"] == 10  # 0: every cycle
    finally:
        runner.close()


@pytest.mark.parametrize("value", ["nosuch=5", "smart", "smart=-1", "smart=x", "smart=86401"])
def test_a_bad_interval_flag_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["agent", "--collector.interval", value])
    assert e.value.code == 2
    assert "--collector.interval" in capsys.readouterr().err


def test_a_bad_interval_in_the_config_names_the_collector():
    for bad in ({"nosuch": 5}, {"smart": -1}):
        with pytest.raises(ValueError, match="nosuch|smart"):
            MonitorConfig.model_validate({"collectors": {"intervals": bad}})
