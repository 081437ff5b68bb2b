"""systemd units: state, sub-state, restarts and start time, with node_exporter's names.

Source: ``systemctl`` (argv lists, bounded output, a time budget of ``timeout`` seconds per
collection shared by its three calls, environment ``LC_ALL=C TZ=UTC SYSTEMD_COLORS=0``; option
``scope: user`` asks the calling user's manager, ``systemctl --user``, instead of the system's):

1. ``systemctl show --property=Version,SystemState,Virtualization`` (manager properties);
2. ``systemctl list-units --all --plain --no-legend --no-pager --full`` (every unit in memory:
   ``UNIT LOAD ACTIVE SUB DESCRIPTION``, a leading status mark such as ``●`` skipped);
3. ``systemctl show --property=Id,Type,NRestarts,ActiveEnterTimestamp -- UNIT...`` for the units
   kept by the filter (``Key=Value`` blocks separated by blank lines).

Families (node_exporter's ``collector/systemd_linux.go`` where it has the name):

* ``node_systemd_units{state}`` — units per ActiveState over *all* listed units; the five states
  ``active activating deactivating inactive failed`` are always present (0 when none).
* ``node_systemd_unit_state{name,state,type}`` — per kept unit, one series per state of those
  five, 1 for the current one. ``type`` is the service's ``Type`` (``simple``, ``notify``...) for
  a ``.service``, the file-system type for a ``.mount``, else ``""`` (also when step 3 failed).
* ``node_systemd_service_restart_total{name}`` — ``NRestarts`` of a kept ``.service`` (systemd
  235+; absent when not reported).
* ``node_systemd_unit_start_time_seconds{name}`` — ``ActiveEnterTimestamp`` (Unix seconds, whole
  seconds as systemctl prints them) of a kept unit that is ``active``. Unlike node_exporter, which
  writes 0 for a unit that is not active, the series is absent then (and when the timestamp is
  empty or cannot be read).
* ``node_systemd_system_running`` — 1 if ``SystemState`` is ``running``, else 0.
* ``node_systemd_version{version}`` — the version number (``252.38`` of ``252.38-1~deb12u1``).
* ``node_systemd_virtualization_info{virtualization_type}`` — 1; ``none`` on bare metal.
* ``autobot_systemd_unit_sub_state{name,sub_state}`` — 1 per kept unit, carrying its SubState
  (``running``, ``exited``, ``dead``, ``auto-restart``...).

A unit is kept when its name fully matches ``unit_include`` (RE2, default ``.+\\.service``), does
not fully match ``unit_exclude`` (default node_exporter's ``.+\\.(automount|device|mount|scope|
slice)``) and its LoadState is ``loaded`` (a ``not-found`` unit counts only in
``node_systemd_units``), at most :data:`MAX_UNITS` units.

When systemd is not the init system (no ``<rootfs>/run/systemd/system``, the test sd_booted(3)
makes) or ``systemctl`` is not installed, the collector emits nothing and logs that once.
Unparsable lines are skipped. Raises :class:`CollectorError` when a call runs past the budget.
"""

from __future__ import annotations

import calendar
import logging
import os
import re
import time
from collections.abc import Sequence
from typing import ClassVar

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from ..regex import compile_regex
from .base import Collector, CollectorContext
from .command import CommandResult, CommandRunner, run_command

log = logging.getLogger(__name__)

UNIT_STATES = ("active", "activating", "deactivating", "inactive", "failed")
DEFAULT_UNIT_INCLUDE = r".+\.service"
DEFAULT_UNIT_EXCLUDE = r".+\.(automount|device|mount|scope|slice)"
MAX_UNITS = 5000
"""Units read from ``list-units`` at most (further lines are ignored)."""
ENV = {"LC_ALL": "C", "TZ": "UTC", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "PAGER": "cat"}
SHOW_PROPERTIES = "Id,Type,NRestarts,ActiveEnterTimestamp"
_MARKS = {"●", "*", "×", "○", "↻"}
_UNIT_RE = re.compile(r"[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap|target|"
                      r"path|timer|slice|scope)")
_TS_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)?(?: (UTC|GMT))?$")
_VERSION_RE = re.compile(r"[0-9]{3,}(\.[0-9]+)?")


def systemctl_runner(argv: Sequence[str], timeout: float) -> CommandResult:
    """:func:`run_command` with the C locale, UTC and no colours or pager."""
    return run_command(argv, timeout, env=ENV)


class SystemdCollector(Collector):
    """systemd unit states through ``systemctl`` (see module docstring). ``run`` replaces the
    command runner (tests replay recorded answers through it)."""

    name = "systemd"
    default_interval: ClassVar[float | None] = 15.0
    SPECS = (
        MetricSpec("node_systemd_units", "gauge", "Summary of systemd unit states", "", ("state",)),
        MetricSpec("node_systemd_unit_state", "gauge", "Systemd unit", "", ("name", "state", "type")),
        MetricSpec("node_systemd_service_restart_total", "counter",
                   "Service unit count of Restart triggers", "", ("name",)),
        MetricSpec("node_systemd_unit_start_time_seconds", "gauge",
                   "Start time of the unit since unix epoch in seconds.", "seconds", ("name",)),
        MetricSpec("node_systemd_system_running", "gauge",
                   "Whether the system is operational (see 'systemctl is-system-running')"),
        MetricSpec("node_systemd_version", "gauge", "Detected systemd version", "", ("version",)),
        MetricSpec("node_systemd_virtualization_info", "info", "Detected virtualization technology",
                   "", ("virtualization_type",)),
        MetricSpec("autobot_systemd_unit_sub_state", "gauge",
                   "Systemd unit sub-state (SubState), value always 1.", "", ("name", "sub_state")),
    )

    def __init__(self, ctx: CollectorContext, run: CommandRunner | None = None):
        super().__init__(ctx)
        self._run = run or systemctl_runner
        self._include = compile_regex(str(self.options.get("unit_include") or DEFAULT_UNIT_INCLUDE))
        self._exclude = compile_regex(str(self.options.get("unit_exclude") or DEFAULT_UNIT_EXCLUDE))
        self._timeout = float(self.options.get("timeout", 4.0))
        self._systemctl = ["systemctl", "--user"] if self.options.get("scope") == "user" \
            else ["systemctl"]
        self._absent_logged = False

    def collect(self) -> list[MetricFamily]:
        if not os.path.isdir(self.ctx.root("/run/systemd/system")):
            self._absent_once("systemd is not the init system (no /run/systemd/system)")
            return []
        deadline = time.monotonic() + self._timeout
        manager = self._call(["show", "--property=Version,SystemState,Virtualization"], deadline)
        if not manager:  # missing, or no manager to talk to ("Failed to connect to bus")
            self._absent_once("systemctl cannot reach the systemd manager" if manager == ""
                              else "systemctl not found")
            return []
        self._absent_logged = False
        fams = {s.name: s.family() for s in self.SPECS}
        self._manager(fams, parse_properties(manager)[0])
        listing = self._call(["list-units", "--all", "--plain", "--no-legend", "--no-pager",
                              "--full"], deadline)
        units = parse_list_units(listing or "")
        self._summary(fams, units)
        kept = [u for u in units if self._keep(u)]
        details: dict[str, dict[str, str]] = {}
        if kept:
            shown = self._call(["show", f"--property={SHOW_PROPERTIES}", "--",
                                *(u["name"] for u in kept)], deadline)
            details = {b["Id"]: b for b in parse_properties(shown or "") if "Id" in b}
        for u in kept:
            self._unit(fams, u, details.get(u["name"], {}))
        return [f for f in fams.values() if f.samples]

    def _call(self, args: list[str], deadline: float) -> str | None:
        """Stdout of ``systemctl ARGS`` when it succeeded, ``""`` after a non-zero exit, ``None``
        when systemctl is missing. Raises CollectorError on a timeout or a flood of output."""
        res = self._run([*self._systemctl, *args], max(0.1, deadline - time.monotonic()))
        if res.status == "missing":
            return None
        if res.status != "ok":
            raise CollectorError(f"systemctl {args[0]}: {res.status} (budget {self._timeout} s)")
        if res.returncode != 0:
            log.debug("systemctl %s exited %s", args[0], res.returncode)
            return ""
        return res.stdout

    def _absent_once(self, why: str) -> None:
        if not self._absent_logged:
            log.info("systemd collector: %s; emitting nothing", why)
            self._absent_logged = True

    def _keep(self, unit: dict[str, str]) -> bool:
        name = unit["name"]
        return (unit["load"] == "loaded" and self._include.fullmatch(name) is not None
                and self._exclude.fullmatch(name) is None)

    @staticmethod
    def _manager(fams: dict[str, MetricFamily], props: dict[str, str]) -> None:
        state = props.get("SystemState", "")
        if state:
            fams["node_systemd_system_running"].add(1 if state == "running" else 0)
        version = props.get("Version", "")
        m = _VERSION_RE.search(version)
        if m:
            fams["node_systemd_version"].add(float(m.group(0)), {"version": version})
        if "Virtualization" in props:
            virt = props["Virtualization"] or "none"
            fams["node_systemd_virtualization_info"].add(1, {"virtualization_type": virt})

    @staticmethod
    def _summary(fams: dict[str, MetricFamily], units: list[dict[str, str]]) -> None:
        if not units:
            return
        counts = dict.fromkeys(UNIT_STATES, 0)
        for u in units:
            counts[u["active"]] = counts.get(u["active"], 0) + 1
        for state, n in counts.items():
            fams["node_systemd_units"].add(n, {"state": state})

    @staticmethod
    def _unit(fams: dict[str, MetricFamily], u: dict[str, str], props: dict[str, str]) -> None:
        name = u["name"]
        typ = props.get("Type", "") if name.endswith((".service", ".mount")) else ""
        for state in UNIT_STATES:
            fams["node_systemd_unit_state"].add(1 if u["active"] == state else 0,
                                                {"name": name, "state": state, "type": typ})
        fams["autobot_systemd_unit_sub_state"].add(1, {"name": name, "sub_state": u["sub"]})
        restarts = props.get("NRestarts", "")
        if name.endswith(".service") and restarts.isdigit():
            fams["node_systemd_service_restart_total"].add(int(restarts), {"name": name})
        started = parse_timestamp(props.get("ActiveEnterTimestamp", ""))
        if u["active"] == "active" and started is not None:
            fams["node_systemd_unit_start_time_seconds"].add(started, {"name": name})


def parse_list_units(text: str) -> list[dict[str, str]]:
    """``systemctl list-units --plain --no-legend`` lines -> ``[{name, load, active, sub}]``
    (at most :data:`MAX_UNITS`); lines with fewer than four fields, a name that is not a unit
    name or a unit already listed are skipped."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        fields = line.split()
        while fields and fields[0] in _MARKS:
            fields.pop(0)
        if len(fields) < 4 or not _UNIT_RE.fullmatch(fields[0]) or fields[0] in seen:
            continue
        seen.add(fields[0])
        out.append({"name": fields[0], "load": fields[1], "active": fields[2], "sub": fields[3]})
        if len(out) >= MAX_UNITS:
            break
    return out


def parse_properties(text: str) -> list[dict[str, str]]:
    """``systemctl show`` output -> one ``{Key: Value}`` dict per blank-line-separated block
    (lines without ``=`` are skipped)."""
    blocks: list[dict[str, str]] = [{}]
    for line in text.splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            blocks[-1][key] = value
    return [b for b in blocks if b] or [{}]


def parse_timestamp(text: str) -> float | None:
    """A systemctl timestamp printed in UTC (``Tue 2026-12-08 01:02:03 UTC``) or as ``@SECONDS``
    -> Unix seconds; ``None`` for an empty, ``n/a``, zero or unreadable one."""
    text = text.strip()
    if text.startswith("@"):
        try:
            v = float(text[1:])
        except ValueError:
            return None
        return v if v > 0 else None
    m = _TS_RE.search(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


