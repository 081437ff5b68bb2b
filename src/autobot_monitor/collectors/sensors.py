"""Temperatures and fan speeds from sysfs: hwmon chips and thermal zones, named as node_exporter.

Sources (all under ``ctx.sysfs``):

* ``class/hwmon/hwmon<N>/`` — one directory per hardware-monitoring chip, whose sensor files
  ``<type><n>_<property>`` (``temp1_input``, ``in0_min``, ``fan1_input``, ``pwm1``...) become
  node_exporter's ``node_hwmon_*{chip,sensor}`` families by its rules
  (:mod:`autobot_monitor.collectors.hwmon`: ``temp*`` -> ``_celsius``, ``in*`` -> ``_volts``,
  ``fan`` -> ``_rpm``, ``power`` -> ``_watt``...); ``<type><n>_label`` (free text) gives
  ``node_hwmon_sensor_label{chip,sensor,label}``. Like node_exporter, the chip's ``device/``
  subdirectory is read too (older drivers put the sensor files there; read last, it wins).
* ``class/thermal/thermal_zone<N>/temp`` (millidegrees) and ``type`` (e.g. ``x86_pkg_temp``);
  ``class/thermal/cooling_device<N>/{cur_state,max_state,type}``.

Families: the declared common ones (``node_hwmon_temp_celsius``, ``node_hwmon_temp_crit_celsius``,
``node_hwmon_temp_max_celsius``, ``node_hwmon_fan_rpm``, ``node_hwmon_in_volts``...), any other
``node_hwmon_*`` name the rules give (:attr:`DYNAMIC_PREFIXES`), ``node_hwmon_chip_names
{chip,chip_name}`` (info-like gauge, value 1), ``node_thermal_zone_temp{zone,type}`` (Celsius, no
unit suffix, as node_exporter names it) and ``node_cooling_device_{cur,max}_state{name,type}``.

The ``chip`` label follows node_exporter's ``hwmonName``: it is derived from the *device* the
hwmon directory belongs to, not from the unstable ``hwmon<N>`` number. With ``D`` the resolved
path of ``hwmon<N>/device``, chip is ``clean(parent(D)) + "_" + clean(basename(D))``, where
``clean`` lowercases, turns every character outside ``[a-z0-9:_]`` into ``_`` and strips ``_``
at both ends. So ``/sys/devices/platform/coretemp.0`` gives ``platform_coretemp_0`` and
``/sys/devices/pci0000:00/0000:00:18.3`` gives ``pci0000:00_0000:00:18_3``. Without a
``device`` link the cleaned ``name`` file is used, and failing that ``hwmon<N>``. Should two
hwmon directories yield the same chip label (one device registering two chips), the later one
gets ``_hwmon<N>`` appended so their series stay apart.

A sensor file that is missing, empty or unreadable is skipped (the others are reported); at most
:data:`MAX_SENSOR_FILES` files a directory, 128 bytes each, are read. A temperature at or below
absolute zero (-273.15 °C) or at/above 1000 °C is a driver's "no reading" placeholder and is
dropped; so is a negative fan speed, and a cooling device's ``cur_state`` of -1.
"""

from __future__ import annotations

import logging
import os
import re

from ..model import MetricFamily, MetricSpec, unit_of
from .base import Collector, read_int, read_text
from .hwmon import clean_name, explode, sensor_samples

log = logging.getLogger(__name__)

MAX_SENSOR_FILES = 4096  # files read per hwmon directory at most
_ZONE_RE = re.compile(r"^thermal_zone(\d+)$")
_COOLING_RE = re.compile(r"^cooling_device(\d+)$")

MIN_CELSIUS = -273.15
MAX_CELSIUS = 1000.0

__all__ = ["SensorsCollector", "chip_name", "clean_name", "valid_celsius"]
# node_hwmon families common enough to declare (their help as node_exporter words it)
COMMON_HWMON = (
    ("node_hwmon_temp_min_celsius", "Hardware monitor for temperature (min)"),
    ("node_hwmon_temp_crit_hyst_celsius", "Hardware monitor for temperature (crit_hyst)"),
    ("node_hwmon_temp_alarm", "Hardware sensor alarm status (temp)"),
    ("node_hwmon_in_volts", "Hardware monitor for voltage (input)"),
    ("node_hwmon_in_min_volts", "Hardware monitor for voltage (min)"),
    ("node_hwmon_in_max_volts", "Hardware monitor for voltage (max)"),
    ("node_hwmon_in_alarm", "Hardware sensor alarm status (in)"),
    ("node_hwmon_fan_min_rpm", "Hardware monitor for fan revolutions per minute (min)"),
    ("node_hwmon_fan_alarm", "Hardware sensor alarm status (fan)"),
    ("node_hwmon_pwm", "Hardware monitor pwm element "),
    ("node_hwmon_pwm_enable", "Hardware monitor pwm element enable"),
    ("node_hwmon_power_watt", "Hardware monitor for power usage in watts (input)"),
    ("node_hwmon_power_average_watt", "Hardware monitor for power usage in watts (average)"),
    ("node_hwmon_curr_amps", "Hardware monitor for current (input)"),
)


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
        MetricSpec("node_cooling_device_cur_state", "gauge",
                   "Current throttle state of the cooling device", "", ("name", "type")),
        MetricSpec("node_cooling_device_max_state", "gauge",
                   "Maximum throttle state of the cooling device", "", ("name", "type")),
        *(MetricSpec(name, "gauge", help_, unit_of(name), ("chip", "sensor"))
          for name, help_ in COMMON_HWMON),
    )
    #: other node_hwmon_* families the hwmon rules give, typed and helped by them
    DYNAMIC_PREFIXES = ("node_hwmon_",)

    def __init__(self, ctx):
        super().__init__(ctx)
        self._logged_absent = False

    def collect(self) -> list[MetricFamily]:
        fams = {s.name: s.family() for s in self.SPECS}
        found_hwmon = self._collect_hwmon(fams)
        found_zone = self._collect_thermal(fams["node_thermal_zone_temp"])
        found_zone = self._collect_cooling(fams) or found_zone
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
        data: dict[tuple[str, str], dict[str, str]] = {}  # (type, sensor key) -> {prop: text}
        for d in (hwmon_dir, os.path.join(hwmon_dir, "device")):  # device/ read last, wins
            try:
                names = sorted(os.listdir(d))[:MAX_SENSOR_FILES]
            except OSError:
                continue
            for fn in names:
                parts = explode(fn)
                if parts is None:
                    continue
                text = _read_small(os.path.join(d, fn))
                if text is not None:
                    data.setdefault(parts[:2], {})[parts[2]] = text
        for (kind, sensor), props in sorted(data.items(), key=_sensor_sort_key):
            labels = {"chip": chip, "sensor": sensor}
            label = props.get("label", "").strip()
            if label:
                fams["node_hwmon_sensor_label"].add(1, {**labels, "label": label})
            for name, typ, help_, value in sensor_samples(kind, props):
                if name.endswith("_celsius") and not valid_celsius(value):
                    continue  # a driver's "no reading" placeholder
                if name.endswith("_rpm") and value < 0:
                    continue
                fam = fams.get(name)
                if fam is None:
                    fam = fams[name] = MetricFamily(name, typ, help_, unit_of(name),
                                                    label_names=("chip", "sensor"))
                fam.add(value, labels)

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


    def _collect_cooling(self, fams: dict[str, MetricFamily]) -> bool:
        """``cooling_device<N>``: state only when ``type``, ``cur_state`` and ``max_state`` all
        read (procfs's ClassCoolingDeviceStats fails the device otherwise)."""
        base = self.ctx.sys("class", "thermal")
        try:
            entries = os.listdir(base)
        except OSError:
            return False
        devices = sorted((int(m.group(1)), e) for e in entries if (m := _COOLING_RE.match(e)))
        for num, entry in devices:
            d = os.path.join(base, entry)
            ctype = read_text(os.path.join(d, "type"))
            cur, top = read_int(os.path.join(d, "cur_state")), read_int(os.path.join(d, "max_state"))
            if ctype is None or cur is None or top is None:
                continue
            labels = {"name": str(num), "type": ctype.strip()}
            if cur >= 0:  # intel_powerclamp reports -1 while not injecting idle
                fams["node_cooling_device_cur_state"].add(cur, labels)
            fams["node_cooling_device_max_state"].add(top, labels)
        return bool(devices)


def _sensor_sort_key(item: tuple[tuple[str, str], dict[str, str]]) -> tuple[str, int]:
    (kind, sensor), _ = item
    return kind, int(sensor[len(kind):] or 0)


def _read_small(path: str) -> str | None:
    """At most 128 bytes of ``path`` (node_exporter's sysReadFile), newlines stripped."""
    try:
        with open(path, "rb") as f:
            return f.read(128).decode("utf-8", errors="replace").strip("\n")
    except OSError:
        return None
