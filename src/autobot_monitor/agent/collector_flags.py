"""node_exporter-style ``--collector.<name>.<option>`` flags of the agent, and the
``CollectorContext.options`` they make (keys as in the hub's ``collectors:`` config section).

Flags left out are left out of the options, so each collector's own defaults apply.
"""

from __future__ import annotations

import argparse
from typing import Any

from .. import cliargs

# (flag, collector, option key, argparse keywords)
_FLAGS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("--collector.textfile.directory", "textfile", "directory",
     {"metavar": "DIR", "help": "read metrics from the *.prom files of DIR (a glob works; "
                                "written by rename, as for node_exporter); default: none"}),
    ("--collector.containers.cgroup-root", "containers", "cgroup_root",
     {"metavar": "DIR", "help": "cgroup tree to read (default: <path.sysfs>/fs/cgroup)"}),
    ("--collector.containers.docker-socket", "containers", "sockets",
     {"action": "append", "metavar": "PATH",
      "help": "Docker-compatible API socket for container names (repeatable; default "
              "/run/docker.sock and /run/podman/podman.sock under path.rootfs; '' for none)"}),
    ("--collector.containers.paths", "containers", "paths",
     {"metavar": "PATH,...", "help": "extra cgroup paths to report, comma-separated"}),
    ("--collector.containers.max-containers", "containers", "max_containers",
     {"type": cliargs.count(1), "help": "cgroups read per run (default 200)"}),
    ("--collector.netstat.fields", "netstat", "fields",
     {"type": cliargs.regex, "metavar": "RE2",
      "help": "netstat fields (Proto_Field) to export, searched (default: node_exporter 1.5's)"}),
    ("--collector.vmstat.fields", "vmstat", "fields",
     {"type": cliargs.regex, "metavar": "RE2",
      "help": "/proc/vmstat fields to export, searched (default: node_exporter 1.5's)"}),
    ("--collector.arp.device-include", "arp", "device_include",
     {"type": cliargs.regex, "metavar": "RE2", "help": "ARP devices to include"}),
    ("--collector.arp.device-exclude", "arp", "device_exclude",
     {"type": cliargs.regex, "metavar": "RE2", "help": "ARP devices to exclude"}),
    ("--collector.systemd.unit-include", "systemd", "unit_include",
     {"type": cliargs.regex, "metavar": "RE2",
      "help": "units to report, full match (default .+\\.service)"}),
    ("--collector.systemd.unit-exclude", "systemd", "unit_exclude",
     {"type": cliargs.regex, "metavar": "RE2",
      "help": "units not to report, full match (default .+\\.(automount|device|mount|scope|slice))"}),
    ("--collector.systemd.scope", "systemd", "scope",
     {"choices": ("system", "user"),
      "help": "manager to ask: the system's (default) or this user's (systemctl --user)"}),
    ("--collector.systemd.timeout", "systemd", "timeout",
     {"type": cliargs.seconds, "help": "seconds for all systemctl calls of one collection (4)"}),
    ("--collector.smart.smartctl-path", "smart", "smartctl_path",
     {"metavar": "PATH", "help": "smartctl program (default: smartctl on PATH)"}),
    ("--collector.smart.device", "smart", "devices",
     {"action": "append", "metavar": "NAME[;TYPE]",
      "help": "device to query instead of smartctl --scan-open (repeatable), e.g. /dev/sda;sat"}),
    ("--collector.smart.device-include", "smart", "device_include",
     {"type": cliargs.regex, "metavar": "RE2", "help": "device labels to query, full match"}),
    ("--collector.smart.device-exclude", "smart", "device_exclude",
     {"type": cliargs.regex, "metavar": "RE2", "help": "device labels not to query, full match"}),
    ("--collector.smart.timeout", "smart", "timeout",
     {"type": cliargs.seconds, "help": "seconds for all smartctl calls of one collection (4)"}),
)


def _dest(flag: str) -> str:
    return "copt_" + flag.removeprefix("--collector.").replace(".", "_").replace("-", "_")


def _interval(text: str) -> tuple[str, float]:
    """``NAME=SECONDS`` -> ``(name, seconds)``; an unknown collector or a value that is not
    0..86400 seconds (0: every cycle) is an argparse error naming why."""
    from ..collectors import REGISTRY

    name, sep, value = text.partition("=")
    if not sep or name not in REGISTRY:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=SECONDS with NAME one of {', '.join(REGISTRY)}")
    seconds = 0.0 if value.strip() == "0" else cliargs.seconds(value)
    if seconds > 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: at most 86400 seconds")
    return name, seconds


def add_collector_flags(parser: argparse.ArgumentParser) -> None:
    """Add the ``--collector.<name>.<option>`` flags and ``--collector.interval NAME=SECONDS``
    to the agent's ``parser``."""
    for flag, _, _, kw in _FLAGS:
        parser.add_argument(flag, dest=_dest(flag), default=None, **kw)
    parser.add_argument("--collector.interval", dest="copt_intervals", action="append",
                        type=_interval, metavar="NAME=SECONDS",
                        help="seconds between runs of collector NAME (repeatable; 0: every "
                             "cycle); defaults: smart 300, processes/systemd/cpufreq 15, "
                             "containers 10, the others every cycle")


def collector_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``{collector: {option: value}}`` for the flags given on the command line."""
    out: dict[str, dict[str, Any]] = {}
    for flag, collector, key, _ in _FLAGS:
        value = getattr(args, _dest(flag), None)
        if value is not None:
            out.setdefault(collector, {})[key] = value
    for name, seconds in getattr(args, "copt_intervals", None) or []:
        out.setdefault(name, {})["interval"] = seconds
    return out
