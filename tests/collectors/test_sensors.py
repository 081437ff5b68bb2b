"""Sensors collector: hwmon + thermal zones replayed from tests/fixtures/sensors."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.sensors import SensorsCollector, chip_name, clean_name
from autobot_monitor.model import find_samples

DESKTOP = Path(__file__).resolve().parents[1] / "fixtures" / "sensors" / "desktop" / "sys"


def collect(sysfs: Path | str):
    return SensorsCollector(CollectorContext(sysfs=str(sysfs))).collect()


def value(fams, name, **labels) -> float:
    found = find_samples(fams, name, **labels)
    assert len(found) == 1, (name, labels, found)
    return found[0].value


@pytest.fixture
def desktop_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "sys"
    shutil.copytree(DESKTOP, dst, symlinks=True)
    return dst


def test_chip_label_is_derived_from_device_path_like_node_exporter():
    fams = collect(DESKTOP)
    chips = {dict(s.labels)["chip"]: dict(s.labels)["chip_name"]
             for s in find_samples(fams, "node_hwmon_chip_names")}
    assert chips == {
        "platform_coretemp_0": "coretemp",
        "pci0000:00_0000:00:18_3": "k10temp",
        "platform_nct6775_656": "nct6798",
        "acpitz": "acpitz",  # no device link: the name file
        "platform_it87_656": "it8728",  # name read from device/ (old layout)
    }


def test_clean_name_matches_node_exporter_rules():
    assert clean_name("coretemp.0") == "coretemp_0"
    assert clean_name("  ACPI Thermal-Zone\n") == "acpi_thermal_zone"
    assert clean_name("__x__") == "x"
    assert clean_name("0000:00:18.3") == "0000:00:18_3"


def test_chip_name_falls_back_to_hwmon_dir_name(tmp_path: Path):
    d = tmp_path / "hwmon7"
    d.mkdir()
    assert chip_name(str(d)) == "hwmon7"


def test_temperatures_are_celsius_from_millidegrees():
    fams = collect(DESKTOP)
    assert value(fams, "node_hwmon_temp_celsius", chip="platform_coretemp_0", sensor="temp1") == 45.0
    assert value(fams, "node_hwmon_temp_crit_celsius", chip="platform_coretemp_0", sensor="temp1") == 100.0
    assert value(fams, "node_hwmon_temp_max_celsius", chip="platform_coretemp_0", sensor="temp1") == 80.0
    assert value(fams, "node_hwmon_temp_celsius", chip="pci0000:00_0000:00:18_3", sensor="temp1") == 51.25
    assert value(fams, "node_hwmon_temp_celsius", chip="platform_coretemp_0", sensor="temp10") == 43.5
    assert value(fams, "node_hwmon_temp_crit_celsius", chip="acpitz", sensor="temp1") == 119.0


def test_sensor_files_under_device_dir_are_read():
    fams = collect(DESKTOP)
    assert value(fams, "node_hwmon_temp_celsius", chip="platform_it87_656", sensor="temp1") == 35.0
    assert value(fams, "node_hwmon_fan_rpm", chip="platform_it87_656", sensor="fan1") == 900


def test_fans_in_rpm_and_broken_fan_files_skipped():
    fams = collect(DESKTOP)
    chip = "platform_nct6775_656"
    assert value(fams, "node_hwmon_fan_rpm", chip=chip, sensor="fan1") == 1200
    assert value(fams, "node_hwmon_fan_rpm", chip=chip, sensor="fan2") == 0  # stopped, still real
    assert find_samples(fams, "node_hwmon_fan_rpm", chip=chip, sensor="fan3") == []  # empty file
    assert find_samples(fams, "node_hwmon_fan_rpm", chip=chip, sensor="fan4") == []  # garbage


def test_empty_sensor_file_is_missing_and_others_reported():
    fams = collect(DESKTOP)
    chip = "platform_coretemp_0"
    assert find_samples(fams, "node_hwmon_temp_celsius", chip=chip, sensor="temp3") == []
    assert len(find_samples(fams, "node_hwmon_temp_celsius", chip=chip)) == 3


def test_impossible_temperatures_are_dropped():
    fams = collect(DESKTOP)
    chip = "platform_nct6775_656"
    temps = {dict(s.labels)["sensor"]: s.value
             for s in find_samples(fams, "node_hwmon_temp_celsius", chip=chip)}
    assert temps == {"temp1": 38.0, "temp4": -5.0}  # -273.15 and 1000 dropped, -5 kept


def test_unreadable_sensor_file_is_missing(desktop_copy: Path):
    target = desktop_copy / "class" / "hwmon" / "hwmon1" / "temp1_input"
    target.unlink()
    target.mkdir()  # open() fails with IsADirectoryError, like an EIO read
    fams = collect(desktop_copy)
    assert find_samples(fams, "node_hwmon_temp_celsius", chip="pci0000:00_0000:00:18_3") == []
    assert find_samples(fams, "node_hwmon_temp_celsius", chip="platform_coretemp_0")


def test_sensor_labels_are_reported():
    fams = collect(DESKTOP)
    labels = {(dict(s.labels)["chip"], dict(s.labels)["sensor"]): dict(s.labels)["label"]
              for s in find_samples(fams, "node_hwmon_sensor_label")}
    assert labels[("platform_coretemp_0", "temp1")] == "Package id 0"
    assert labels[("pci0000:00_0000:00:18_3", "temp1")] == "Tctl"
    assert labels[("platform_it87_656", "fan1")] == "CPU fan"
    assert ("platform_nct6775_656", "fan1") not in labels  # blank label file


def test_thermal_zones():
    fams = collect(DESKTOP)
    zones = {(dict(s.labels)["zone"], dict(s.labels)["type"]): s.value
             for s in find_samples(fams, "node_thermal_zone_temp")}
    assert zones == {
        ("0", "acpitz"): 27.8,
        ("1", "x86_pkg_temp"): 45.0,
        ("10", "INT3400 Thermal"): 20.0,
        # zone 2: empty temp (read error), zone 3: -274 °C (impossible)
    }


def test_machine_without_sensors_yields_nothing_and_logs_once(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG, logger="autobot_monitor.collectors.sensors")
    col = SensorsCollector(CollectorContext(sysfs=str(tmp_path)))
    assert col.collect() == []
    assert col.collect() == []
    assert len(caplog.records) <= 1
    assert all(r.levelno <= logging.INFO for r in caplog.records)


def test_real_machine_does_not_raise():
    fams = SensorsCollector(CollectorContext()).collect()
    names = {s.name for s in SensorsCollector.SPECS}
    assert all(f.name in names for f in fams)


def test_fixture_tree_has_no_symlink_cycles():
    for dirpath, dirnames, _ in os.walk(DESKTOP, followlinks=True):
        assert len(Path(dirpath).relative_to(DESKTOP).parts) < 12, dirpath
        assert dirnames is not None


def test_two_hwmon_dirs_of_one_device_get_distinct_chip_labels(tmp_path: Path):
    dev = tmp_path / "devices" / "platform" / "applesmc.768"
    dev.mkdir(parents=True)
    for n in ("hwmon0", "hwmon1"):
        h = tmp_path / "class" / "hwmon" / n
        h.mkdir(parents=True)
        (h / "device").symlink_to(Path("..", "..", "..", "devices", "platform", "applesmc.768"))
        (h / "temp1_input").write_text("30000\n")
    chips = sorted(dict(s.labels)["chip"] for s in find_samples(collect(tmp_path), "node_hwmon_temp_celsius"))
    assert chips == ["platform_applesmc_768", "platform_applesmc_768_hwmon1"]
