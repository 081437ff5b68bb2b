"""Temperatures and fan speeds from sysfs: hwmon chips and thermal zones, named as node_exporter.

Sources (all under ``ctx.sysfs``):

* ``class/hwmon/hwmon<N>/`` — one directory per hardware-monitoring chip. Sensor files are
  ``temp<i>_input`` / ``temp<i>_crit`` / ``temp<i>_max`` (millidegrees Celsius), ``fan<i>_input``
  (RPM) and ``temp<i>_label`` / ``fan<i>_label`` (free text). Like node_exporter, the chip's
  ``device/`` subdirectory is read too (older drivers put the sensor files there); a file in the
  hwmon directory itself wins.
* ``class/thermal/thermal_zone<N>/temp`` (millidegrees) and ``type`` (e.g. ``x86_pkg_temp``).

Families: ``node_hwmon_temp_celsius``, ``node_hwmon_temp_crit_celsius``,
``node_hwmon_temp_max_celsius``, ``node_hwmon_fan_rpm`` (labels ``chip``, ``sensor``),
``node_hwmon_chip_names{chip,chip_name}`` and ``node_hwmon_sensor_label{chip,sensor,label}``
(info-like gauges, value 1), ``node_thermal_zone_temp{zone,type}`` (Celsius, no unit suffix, as
node_exporter names it).

The ``chip`` label follows node_exporter's ``hwmonName``: it is derived from the *device* the
hwmon directory belongs to, not from the unstable ``hwmon<N>`` number. With ``D`` the resolved
path of ``hwmon<N>/device``, chip is ``clean(parent(D)) + "_" + clean(basename(D))``, where
``clean`` lowercases, turns every character outside ``[a-z0-9:_]`` into ``_`` and strips ``_``
at both ends. So ``/sys/devices/platform/coretemp.0`` gives ``platform_coretemp_0`` and
``/sys/devices/pci0000:00/0000:00:18.3`` gives ``pci0000:00_0000:00:18_3``. Without a
``device`` link the cleaned ``name`` file is used, and failing that ``hwmon<N>``. Should two
hwmon directories yield the same chip label (one device registering two chips), the later one
gets ``_hwmon<N>`` appended so their series stay apart.

A sensor file that is missing, empty or unreadable is skipped (the others are reported). A
temperature at or below absolute zero (-273.15 °C) or at/above 1000 °C is a driver's "no reading"
placeholder and is dropped; so is a negative fan speed.
"""

from __future__ import annotations

import logging
import os
import re

from ..model import MetricFamily, MetricSpec
from .base import Collector, read_int, read_text

log = logging.getLogger(__name__)

_SENSOR_FILE_RE = re.compile(r"^(temp|fan)(\d+)_(input|crit|max|label)$")
_INVALID_CHARS_RE = re.compile(r"[^a-z0-9:_]")
_ZONE_RE = re.compile(r"^thermal_zone(\d+)$")

MIN_CELSIUS = -273.15
MAX_CELSIUS = 1000.0

_TEMP_FAMILY = {
    "input": "node_hwmon_temp_celsius",
    "crit": "node_hwmon_temp_crit_celsius",
    "max": "node_hwmon_temp_max_celsius",
}


def clean_name(raw: str) -> str:
    """node_exporter's ``cleanMetricName``: lowercase, ``[^a-z0-9:_]`` -> ``_``, trim ``_``."""
    return _INVALID_CHARS_RE.sub("_", raw.strip().lower()).strip("_")


def chip_name(hwmon_dir: str) -> str:
    """Stable ``chip`` label for one ``hwmon<N>`` directory (see the module docstring)."""
    device = os.path.join(hwmon_dir, "device")
    if os.path.exists(device):
        real = os.path.realpath(device)
        dev_name = clean_name(os.path.basename(real))
        dev_type = clean_name(os.path.basename(os.path.dirname(real)))
        if dev_type and dev_name:
            return f"{dev_type}_{dev_name}"
        if dev_name:
            return dev_name
    name = clean_name(read_text(os.path.join(hwmon_dir, "name")) or "")
    if name:
        return name
    return clean_name(os.path.basename(os.path.realpath(hwmon_dir)))


def valid_celsius(value: float) -> bool:
    """False for readings that cannot be real (at/below absolute zero, at/above 1000 °C)."""
    return MIN_CELSIUS < value < MAX_CELSIUS


class SensorsCollector(Collector):
    """hwmon temperatures/fans and thermal zones (see module docstring)."""

    name = "sensors"
    SPECS = (
        MetricSpec("node_hwmon_temp_celsius", "gauge",
                   "Hardware monitor temperature reading (tempN_input).", "celsius", ("chip", "sensor")),
        MetricSpec("node_hwmon_temp_crit_celsius", "gauge",
                   "Hardware monitor critical temperature threshold (tempN_crit).", "celsius",
                   ("chip", "sensor")),
        MetricSpec("node_hwmon_temp_max_celsius", "gauge",
                   "Hardware monitor maximum temperature threshold (tempN_max).", "celsius",
                   ("chip", "sensor")),
        MetricSpec("node_hwmon_fan_rpm", "gauge",
                   "Hardware monitor fan speed (fanN_input).", "rpm", ("chip", "sensor")),
        MetricSpec("node_hwmon_chip_names", "gauge",
                   "Human-readable chip name from the hwmon name file (value always 1).", "",
                   ("chip", "chip_name")),
        MetricSpec("node_hwmon_sensor_label", "gauge",
                   "Label the driver gives a sensor (tempN_label/fanN_label; value always 1).", "",
                   ("chip", "sensor", "label")),
        MetricSpec("node_thermal_zone_temp", "gauge",
                   "Thermal zone temperature in degrees Celsius (thermal_zoneN/temp).", "",
                   ("zone", "type")),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self._logged_absent = False

    def collect(self) -> list[MetricFamily]:
        fams = {s.name: s.family() for s in self.SPECS}
        found_hwmon = self._collect_hwmon(fams)
        found_zone = self._collect_thermal(fams["node_thermal_zone_temp"])
        if not (found_hwmon or found_zone) and not self._logged_absent:
            log.debug("sensors: no hwmon chips or thermal zones under %s", self.ctx.sysfs)
            self._logged_absent = True
        return [f for f in fams.values() if f.samples]

    # -- hwmon -------------------------------------------------------------------------------

    def _collect_hwmon(self, fams: dict[str, MetricFamily]) -> bool:
        base = self.ctx.sys("class", "hwmon")
        try:
            entries = sorted(os.listdir(base))
        except OSError:
            return False
        found = False
        seen_chips: set[str] = set()
        for entry in entries:
            hwmon_dir = os.path.join(base, entry)
            if not os.path.isdir(hwmon_dir):
                continue
            found = True
            chip = chip_name(hwmon_dir)
            if not chip or chip in seen_chips:
                # Two hwmon dirs for one device (rare): keep them apart by the hwmon number.
                chip = f"{chip}_{clean_name(entry)}" if chip else clean_name(entry)
            seen_chips.add(chip)
            human = clean_name(read_text(os.path.join(hwmon_dir, "name"))
                               or read_text(os.path.join(hwmon_dir, "device", "name")) or "")
            if human:
                fams["node_hwmon_chip_names"].add(1, {"chip": chip, "chip_name": human})
            self._collect_chip(fams, chip, hwmon_dir)
        return found

    def _collect_chip(self, fams: dict[str, MetricFamily], chip: str, hwmon_dir: str) -> None:
        files: dict[tuple[str, str, str], str] = {}
        for d in (os.path.join(hwmon_dir, "device"), hwmon_dir):  # hwmon dir itself wins
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for fn in names:
                m = _SENSOR_FILE_RE.match(fn)
                if m:
                    files[(m.group(1), m.group(2), m.group(3))] = os.path.join(d, fn)
        for (kind, idx, prop), path in sorted(files.items(), key=_sensor_sort_key):
            labels = {"chip": chip, "sensor": f"{kind}{idx}"}
            if prop == "label":
                text = (read_text(path) or "").strip()
                if text:
                    fams["node_hwmon_sensor_label"].add(1, {**labels, "label": text})
                continue
            raw = read_int(path)
            if raw is None:
                continue
            if kind == "temp":
                value = raw / 1000.0
                if valid_celsius(value):
                    fams[_TEMP_FAMILY[prop]].add(value, labels)
            elif prop == "input" and raw >= 0:
                fams["node_hwmon_fan_rpm"].add(raw, labels)

    # -- thermal zones -----------------------------------------------------------------------

    def _collect_thermal(self, fam: MetricFamily) -> bool:
        base = self.ctx.sys("class", "thermal")
        try:
            entries = os.listdir(base)
        except OSError:
            return False
        found = False
        zones = sorted((int(m.group(1)), e) for e in entries if (m := _ZONE_RE.match(e)))
        for num, entry in zones:
            zdir = os.path.join(base, entry)
            found = True
            raw = read_int(os.path.join(zdir, "temp"))
            if raw is None:
                continue
            value = raw / 1000.0
            if not valid_celsius(value):
                continue
            ztype = (read_text(os.path.join(zdir, "type")) or "").strip()
            fam.add(value, {"zone": str(num), "type": ztype})
        return found


def _sensor_sort_key(item: tuple[tuple[str, str, str], str]) -> tuple[str, int, str]:
    (kind, idx, prop), _ = item
    return (kind, int(idx), prop)
