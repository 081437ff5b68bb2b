"""Disk health (S.M.A.R.T.) from ``smartctl --json``, with smartctl_exporter's names.

Source: ``smartctl`` (smartmontools 7.0+, argv lists, bounded output, one time budget of
``timeout`` seconds per collection): the device list from ``smartctl --scan-open --json``
(``devices[].name`` and ``.type``) unless the ``devices`` option names them (``NAME`` or
``NAME;TYPE``), then per device, in parallel, smartctl_exporter's query
``smartctl --json --info --health --attributes --tolerance=verypermissive --nocheck=standby
--format=brief --device=TYPE NAME`` (``--nocheck=standby``: a sleeping disk is not spun up; it
answers exit status bit 1 and reports nothing else). Slow: every :attr:`default_interval` s.

``device`` is smartctl_exporter's label: the name without ``/dev/`` (or ``/dev/disk/by-id/``),
``/`` as ``_``, and ``_TYPE`` appended for a type with a comma (``bus_0_megaraid_1``). Devices
are kept when that label fully matches ``device_include`` and not ``device_exclude`` (RE2; the
exporter's regexes are unanchored).

Families (all gauges; smartctl_exporter declares power-on seconds, power cycles and the NVMe
log values as counters, which our names without ``_total`` cannot be):

* ``smartctl_devices`` — devices queried this cycle.
* ``smartctl_device_smartctl_exit_status{device}`` — smartctl's exit status bit mask (1 bad
  command line, 2 open failed / standby, 4 a command failed, 8 SMART says FAILING, 16 prefail
  attributes at threshold, 32 past threshold, 64 error log, 128 self-test log errors).
* ``smartctl_device{device,interface,protocol,model_family,model_name,serial_number,...}`` — 1,
  when smartctl identified the device (``unknown`` where the exporter writes it).
  With exit status bit 0 or 1 set (value & 3: bad command line, device not opened or asleep),
  nothing but the exit status is emitted for the device (smartctl_exporter keeps no data from
  such an answer either).
* ``smartctl_device_smart_status{device}`` — 1 passed, 0 failing; absent when smartctl reports
  no status (SMART unavailable: USB bridges, virtual disks) — never guessed.
* ``smartctl_device_temperature{device,temperature_type}`` — celsius, one per key of
  ``temperature`` (``current``, ``drive_trip``...).
* ``smartctl_device_power_on_seconds``, ``smartctl_device_power_cycle_count``,
  ``smartctl_device_capacity_bytes``, ``smartctl_device_rotation_rate`` (rpm, only when > 0).
* ``smartctl_device_attribute{device,attribute_name,attribute_flags_short,attribute_flags_long,
  attribute_value_type,attribute_id}`` — each ATA attribute's ``value``, ``worst``, ``thresh`` and
  ``raw`` (``Reallocated_Sector_Ct``, ``Current_Pending_Sector``...).
* NVMe health log: ``smartctl_device_percentage_used``, ``smartctl_device_available_spare``,
  ``smartctl_device_available_spare_threshold``, ``smartctl_device_critical_warning``,
  ``smartctl_device_media_errors``, ``smartctl_device_num_err_log_entries``.

A field the device does not report is absent. ``smartctl`` not installed: nothing, logged once.
Unparsable JSON for a device: that device is skipped. Raises :class:`CollectorError` when the scan
runs past the budget; a device that does is skipped.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from ..regex import compile_regex
from .base import Collector, CollectorContext
from .command import CommandResult, CommandRunner, run_command

log = logging.getLogger(__name__)

MAX_DEVICES = 64
QUERY = ("--json", "--info", "--health", "--attributes", "--tolerance=verypermissive",
         "--nocheck=standby", "--format=brief")
_DEV_PREFIX = re.compile(r"^/dev/(?:disk/by-id/|disk/by-path/|)")
_LONG_FLAGS = ("prefailure", "updated_online", "performance", "error_rate", "event_count",
               "auto_keep")
_INFO_LABELS = ("device", "interface", "protocol", "model_family", "model_name", "serial_number",
                "ata_additional_product_id", "firmware_version", "ata_version", "sata_version",
                "form_factor", "scsi_vendor", "scsi_product", "scsi_revision", "scsi_version")
_NVME = {"percentage_used": "Device write percentage used",
         "available_spare": "Normalized percentage (0 to 100%) of the remaining spare capacity "
                            "available",
         "available_spare_threshold": "Available spare threshold, normalized percentage",
         "critical_warning": "This field indicates critical warnings for the state of the "
                             "controller",
         "media_errors": "Number of unrecovered data integrity errors the controller detected",
         "num_err_log_entries": "Number of Error Information log entries over the life of the "
                                "controller"}
_D = ("device",)


def device_label(name: str, dev_type: str) -> str:
    """smartctl_exporter's ``device`` label for ``name`` queried as ``dev_type``."""
    label = _DEV_PREFIX.sub("", name).replace("/", "_")
    return f"{label}_{dev_type.replace(',', '_')}" if "," in dev_type else label


class SmartCollector(Collector):
    """S.M.A.R.T. health through ``smartctl --json`` (see module docstring). ``run`` replaces
    the command runner."""

    name = "smart"
    default_interval: ClassVar[float | None] = 300.0
    SPECS = (
        MetricSpec("smartctl_devices", "gauge",
                   "Number of devices configured or dynamically discovered"),
        MetricSpec("smartctl_device_smartctl_exit_status", "gauge",
                   "Exit status of smartctl on device", "", _D),
        MetricSpec("smartctl_device", "gauge", "Device info", "", _INFO_LABELS),
        MetricSpec("smartctl_device_smart_status", "gauge", "General smart status", "", _D),
        MetricSpec("smartctl_device_temperature", "gauge", "Device temperature celsius", "",
                   ("device", "temperature_type")),
        MetricSpec("smartctl_device_power_on_seconds", "gauge", "Device power on seconds",
                   "seconds", _D),
        MetricSpec("smartctl_device_power_cycle_count", "gauge", "Device power cycle count", "", _D),
        MetricSpec("smartctl_device_capacity_bytes", "gauge", "Device capacity in bytes", "bytes",
                   _D),
        MetricSpec("smartctl_device_rotation_rate", "gauge", "Device rotation rate", "", _D),
        MetricSpec("smartctl_device_attribute", "gauge", "Device attributes", "",
                   ("device", "attribute_name", "attribute_flags_short", "attribute_flags_long",
                    "attribute_value_type", "attribute_id")),
        *(MetricSpec(f"smartctl_device_{k}", "gauge", h, "", _D) for k, h in _NVME.items()),
    )

    def __init__(self, ctx: CollectorContext, run: CommandRunner | None = None):
        super().__init__(ctx)
        self._run = run or run_command
        self._path = str(self.options.get("smartctl_path") or "smartctl")
        self._timeout = float(self.options.get("timeout", 4.0))
        inc, exc = self.options.get("device_include"), self.options.get("device_exclude")
        self._include = compile_regex(str(inc)) if inc else None
        self._exclude = compile_regex(str(exc)) if exc else None
        devices = self.options.get("devices") or []
        if isinstance(devices, str):
            devices = [d for d in devices.split(",") if d.strip()]
        self._configured = [_split_device(d) for d in devices]
        self._missing_logged = False

    def collect(self) -> list[MetricFamily]:
        deadline = time.monotonic() + self._timeout
        devices = self._configured or self._scan(deadline)
        if devices is None:
            return []
        devices = [d for d in devices if self._keep(device_label(*d))][:MAX_DEVICES]
        fams = {s.name: s.family() for s in self.SPECS}
        fams["smartctl_devices"].add(len(devices))
        if devices:
            with ThreadPoolExecutor(max_workers=min(8, len(devices)),
                                    thread_name_prefix="smartctl") as pool:
                answers = list(pool.map(lambda d: self._query(d, deadline), devices))
            for (name, dev_type), data in zip(devices, answers, strict=True):
                if data is not None:
                    emit_device(fams, device_label(name, dev_type), data)
            if all(a is None for a in answers):  # smartctl broken, not "no disk health"
                raise CollectorError(f"no device of {len(devices)} got a JSON answer from "
                                     "smartctl (timed out, failed or not JSON)")
        return [f for f in fams.values() if f.samples]

    def _keep(self, label: str) -> bool:
        if self._include is not None and self._include.fullmatch(label) is None:
            return False
        return self._exclude is None or self._exclude.fullmatch(label) is None

    def _call(self, args: Sequence[str], deadline: float) -> CommandResult:
        return self._run([self._path, *args], max(0.1, deadline - time.monotonic()))

    def _scan(self, deadline: float) -> list[tuple[str, str]] | None:
        """``[(name, type)]`` from ``--scan-open`` (smartctl 7.3 leaves ``devices`` out when it
        finds none); ``None`` when smartctl is missing. Raises CollectorError when it fails or
        answers no JSON (the collector's success is then 0: a broken smartctl is not a host
        without disks)."""
        res = self._call(["--scan-open", "--json"], deadline)
        if res.status == "missing":
            if not self._missing_logged:
                log.info("smart collector: %s not found; emitting nothing", self._path)
                self._missing_logged = True
            return None
        if not res.ok:
            raise CollectorError(f"smartctl --scan-open: {res.status} (budget {self._timeout} s)")
        self._missing_logged = False
        data = _json_object(res.stdout)
        if not isinstance(data.get("smartctl"), dict):  # not smartctl's JSON: nothing is known
            raise CollectorError(f"smartctl --scan-open: no JSON answer (exit {res.returncode})")
        out = []
        for d in data.get("devices", []) if isinstance(data.get("devices"), list) else []:
            if isinstance(d, dict) and isinstance(d.get("name"), str) and d["name"]:
                dtype = d.get("type")
                out.append((d["name"], dtype if isinstance(dtype, str) and dtype else "auto"))
        return out

    def _query(self, device: tuple[str, str], deadline: float) -> dict[str, Any] | None:
        name, dev_type = device
        res = self._call([*QUERY, f"--device={dev_type}", name], deadline)
        if not res.ok:
            log.warning("smartctl %s: %s", name, res.status)
            return None
        data = _json_object(res.stdout)
        if not isinstance(data.get("smartctl"), dict):
            log.warning("smartctl %s: no JSON answer (exit %s)", name, res.returncode)
            return None
        return data


def _split_device(spec: Any) -> tuple[str, str]:
    name, _, dev_type = str(spec).strip().partition(";")
    return name.strip(), dev_type.strip() or "auto"


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _num(v: Any) -> float | None:
    """A finite JSON number (not a bool) as float, else None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        f = float(v)
    except OverflowError:  # an integer beyond float range
        return None
    return f if math.isfinite(f) else None


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: dict[str, Any], *path: str, default: str = "") -> str:
    v = _get(data, *path)
    return v.strip() if isinstance(v, str) else default


def emit_device(fams: dict[str, MetricFamily], device: str, data: dict[str, Any]) -> None:
    """Add one device's samples from its ``smartctl --json`` answer ``data`` to ``fams``."""
    d = {"device": device}
    status = _num(_get(data, "smartctl", "exit_status"))
    if status is not None:
        fams["smartctl_device_smartctl_exit_status"].add(status, d)
        if int(status) & 3:  # bad command line, or open failed / in standby: nothing was read
            return
    if isinstance(data.get("device"), dict):
        fams["smartctl_device"].add(1, _info_labels(device, data))
    passed = _get(data, "smart_status", "passed")
    if isinstance(passed, bool):
        fams["smartctl_device_smart_status"].add(1 if passed else 0, d)
    temps = data.get("temperature")
    for key, v in (temps.items() if isinstance(temps, dict) else ()):
        if (t := _num(v)) is not None:
            fams["smartctl_device_temperature"].add(t, {"device": device, "temperature_type": key})
    _power(fams, d, data)
    if (cap := _num(_get(data, "user_capacity", "bytes"))) is not None:
        fams["smartctl_device_capacity_bytes"].add(cap, d)
    if (rpm := _num(data.get("rotation_rate"))) is not None and rpm > 0:
        fams["smartctl_device_rotation_rate"].add(rpm, d)
    _attributes(fams, device, data)
    nvme = data.get("nvme_smart_health_information_log")
    for key in _NVME:
        if (v := _num(_get(nvme, key))) is not None:
            fams[f"smartctl_device_{key}"].add(v, d)


def _info_labels(device: str, data: dict[str, Any]) -> dict[str, str]:
    model = _text(data, "model_name") or _text(data, "scsi_model_name") or "unknown"
    return {"device": device, "interface": _text(data, "device", "type"),
            "protocol": _text(data, "device", "protocol"),
            "model_family": _text(data, "model_family", default="unknown"), "model_name": model,
            "serial_number": _text(data, "serial_number"),
            "ata_additional_product_id": _text(data, "ata_additional_product_id",
                                               default="unknown"),
            "firmware_version": _text(data, "firmware_version"),
            "ata_version": _text(data, "ata_version", "string"),
            "sata_version": _text(data, "sata_version", "string"),
            "form_factor": _text(data, "form_factor", "name"),
            **{k: _text(data, k) for k in ("scsi_vendor", "scsi_product", "scsi_revision",
                                            "scsi_version")}}


def _power(fams: dict[str, MetricFamily], d: dict[str, str], data: dict[str, Any]) -> None:
    pot = data.get("power_on_time")
    if isinstance(pot, dict):
        hours, minutes = _num(pot.get("hours")), _num(pot.get("minutes"))
        if hours is not None or minutes is not None:
            fams["smartctl_device_power_on_seconds"].add((hours or 0) * 3600 + (minutes or 0) * 60,
                                                         d)
    cycles = _num(data.get("power_cycle_count"))
    if cycles is None:
        cycles = _num(_get(data, "scsi_start_stop_cycle_counter", "accumulated_start_stop_cycles"))
    if cycles is not None:
        fams["smartctl_device_power_cycle_count"].add(cycles, d)


def _attributes(fams: dict[str, MetricFamily], device: str, data: dict[str, Any]) -> None:
    table = _get(data, "ata_smart_attributes", "table")
    for row in table if isinstance(table, list) else ():
        if not isinstance(row, dict) or _num(row.get("id")) is None:
            continue
        flags: dict[str, Any] = row["flags"] if isinstance(row.get("flags"), dict) else {}
        base = {"device": device, "attribute_name": _text(row, "name"),
                "attribute_flags_short": _text(flags, "string"),
                "attribute_flags_long": ",".join(f for f in _LONG_FLAGS if flags.get(f) is True),
                "attribute_id": str(int(row["id"]))}
        for key, v in (("value", row.get("value")), ("worst", row.get("worst")),
                       ("thresh", row.get("thresh")), ("raw", _get(row, "raw", "value"))):
            if (x := _num(v)) is not None:
                fams["smartctl_device_attribute"].add(x, {**base, "attribute_value_type": key})
