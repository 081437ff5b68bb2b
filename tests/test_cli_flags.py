"""Flags are validated like config keys: a bad value is a one-line usage error, exit code 2,
before the process binds a socket or starts a loop (real child processes)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autobot_monitor.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "flag"), [
    (["agent", "--interval", "0"], "--interval"),
    (["agent", "--interval", "-3"], "--interval"),
    (["start", "--port", "70000"], "--port"),
    (["start", "--port", "0"], "--port"),
])
def test_bad_flag_is_a_usage_error(args, flag, tmp_path):
    if args[0] == "start":
        args = [*args, "--data-dir", str(tmp_path)]
    r = run_cli(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"argument {flag}" in errors[0], r.stderr
    assert not (tmp_path / "hub.pid").exists()  # refused before anything started


@pytest.mark.parametrize(("args", "flag"), [
    (["agent", "--interval", "nan"], "--interval"),
    (["agent", "--interval", "inf"], "--interval"),
    (["agent", "--timeout", "0"], "--timeout"),
    (["agent", "--mesh-interval", "-1"], "--mesh-interval"),
    (["agent", "--mesh-window", "1"], "--mesh-window"),
    (["agent", "--listen", "127.0.0.1:0"], "--listen"),
    (["agent", "--listen", "127.0.0.1:65536"], "--listen"),
    (["stop", "--timeout", "-1"], "--timeout"),
    (["status", "--timeout", "0"], "--timeout"),
    (["agent", "--collector.netstat.fields", "(?=lookahead)"], "--collector.netstat.fields"),
    (["agent", "--collector.arp.device-exclude", "(unclosed"], "--collector.arp.device-exclude"),
])
def test_more_bad_flags_in_process(args, flag, capsys):
    """The same parser in-process, for the remaining flags (cheaper than a process each)."""
    from autobot_monitor.cli import main

    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "Traceback" not in err


def test_collector_filter_flags_become_collector_options():
    import argparse

    from autobot_monitor.agent.command import add_parser, collector_options

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["agent", "--collector.netstat.fields", "^Tcp_",
                              "--collector.arp.device-exclude", "^docker"])
    assert collector_options(args) == {"netstat": {"fields": "^Tcp_"},
                                       "arp": {"device_exclude": "^docker"}}
    assert collector_options(parser.parse_args(["agent"])) == {}
