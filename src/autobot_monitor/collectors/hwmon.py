"""node_exporter 1.5's hwmon naming: which family, type and scale each hwmon sysfs file becomes.

Pure functions (no I/O) used by :mod:`autobot_monitor.collectors.sensors`. A hwmon file name
``<type><n>_<property>`` (``temp1_input``, ``in0_min``, ``pwm1``, ``update_interval``) is split
by :func:`explode`; files of one sensor (``temp1``) are gathered into ``{property: text}`` and
:func:`sensor_samples` turns them into ``(family, type, help, value)`` exactly as node_exporter's
``updateHwmon`` does (source: node_exporter v1.5.0 collector/hwmon_linux.go):

* ``in``/``cpu``: ``node_hwmon_in[_<prop>]_volts`` (millivolts / 1000);
* ``temp``: ``node_hwmon_temp[_<prop>]_celsius`` (millidegrees / 1000);
* ``curr``: ``_amps`` (mA / 1000); ``power``: ``_watt`` (µW / 1e6), ``power_accuracy`` (ratio),
  ``power_average_interval*_seconds`` (ms / 1000); ``energy``: ``_joule_total`` counter
  (µJ / 1e6); ``humidity``: the value / 1e6, as node_exporter has it;
* ``fan`` ``input``/``min``/``max``/``target``: ``_rpm``; ``<prop>`` ``alarm``/``fault``: the
  flag as is; ``beep``: ``_beep_enabled``; anything else: ``node_hwmon_<type>_<prop>`` as read;
* sensors without a number: ``beep_enable`` -> ``node_hwmon_beep_enabled``, ``vrm`` ->
  ``node_hwmon_voltage_regulator_version``, ``update_interval`` ->
  ``node_hwmon_update_interval_seconds`` (ms / 1000).

(``temp1_crit_alarm`` becomes ``node_hwmon_temp_crit_alarm_celsius`` = flag / 1000: node_exporter
names and scales it so, and we follow it.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..model import MetricType

SENSOR_TYPES = frozenset({"vrm", "beep_enable", "update_interval", "in", "cpu", "fan", "pwm",
                          "temp", "curr", "power", "energy", "humidity", "intrusion"})
_FILENAME_RE = re.compile(r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$")
_INVALID_CHARS_RE = re.compile(r"[^a-z0-9:_]")
_POWER_INTERVALS = ("average_interval", "average_interval_min", "average_interval_max")

Sample = tuple[str, MetricType, str, float]


def clean_name(raw: str) -> str:
    """node_exporter's ``cleanMetricName``: lowercase, ``[^a-z0-9:_]`` -> ``_``, trim ``_``."""
    return _INVALID_CHARS_RE.sub("_", raw.strip().lower()).strip("_")


def explode(filename: str) -> tuple[str, str, str] | None:
    """``"temp1_input"`` -> ``("temp", "temp1", "input")``: sensor type, sensor key (type and
    number, ``0`` when the name has none) and property (``""`` for ``pwm1``); None for a file
    that is no sensor of a known type."""
    m = _FILENAME_RE.match(filename)
    if m is None or m.group("type") not in SENSOR_TYPES:
        return None
    num = int(m.group("id")) if m.group("id") else 0
    return m.group("type"), f"{m.group('type')}{num}", m.group("property") or ""


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def sensor_samples(kind: str, data: dict[str, str]) -> Iterator[Sample]:
    """``(family, type, help, value)`` for one sensor of type ``kind`` whose files read
    ``data`` (``{property: text}``), the ``label`` property excepted; unparsable values skipped."""
    single = {"beep_enable": ("node_hwmon_beep_enabled", "Hardware beep enabled"),
              "vrm": ("node_hwmon_voltage_regulator_version", "Hardware voltage regulator"),
              "update_interval": ("node_hwmon_update_interval_seconds",
                                  "Hardware monitor update interval")}
    if kind in single:
        name, help_ = single[kind]
        raw = data.get("", "")
        if kind == "beep_enable":
            yield name, "gauge", help_, 1.0 if raw.strip() == "1" else 0.0
        elif (v := _number(raw)) is not None:
            yield name, "gauge", help_, v * 0.001 if kind == "update_interval" else v
        return
    for element, text in sorted(data.items()):
        if element == "label":
            continue
        value = _number(text)
        if value is None:
            continue
        yield _one(kind, element, value, "" in data)


def _one(kind: str, element: str, value: float, has_bare: bool) -> Sample:
    """node_exporter's chain of cases for one ``<kind><n>_<element>`` file."""
    name = f"node_hwmon_{kind}"
    if element == "input":
        name += "_input" if has_bare else ""
    elif element:
        name += "_" + clean_name(element)
    shown = element or "input"
    if element in ("fault", "alarm"):
        return name, "gauge", f"Hardware sensor {element} status ({kind})", value
    if element == "beep":
        return name + "_enabled", "gauge", "Hardware monitor sensor has beeping enabled", value
    if kind in ("in", "cpu"):
        return name + "_volts", "gauge", f"Hardware monitor for voltage ({element})", value * 0.001
    if kind == "temp" and element != "type":
        return (name + "_celsius", "gauge", f"Hardware monitor for temperature ({shown})",
                value * 0.001)
    if kind == "curr":
        return name + "_amps", "gauge", f"Hardware monitor for current ({element})", value * 0.001
    if kind == "energy":
        return (name + "_joule_total", "counter",
                f"Hardware monitor for joules used so far ({element})", value / 1e6)
    if kind == "power" and element == "accuracy":
        return name, "gauge", "Hardware monitor power meter accuracy, as a ratio", value / 1e6
    if kind == "power" and element in _POWER_INTERVALS:
        return (name + "_seconds", "gauge",
                f"Hardware monitor power usage update interval ({element})", value * 0.001)
    if kind == "power":
        return (name + "_watt", "gauge", f"Hardware monitor for power usage in watts ({element})",
                value / 1e6)
    if kind == "humidity":
        return (name, "gauge", "Hardware monitor for humidity, as a ratio (multiply with 100.0 to "
                f"get the humidity as a percentage) ({element})", value / 1e6)
    if kind == "fan" and element in ("input", "min", "max", "target"):
        return name + "_rpm", "gauge", f"Hardware monitor for fan revolutions per minute ({element})", value
    return name, "gauge", f"Hardware monitor {kind} element {element}", value
