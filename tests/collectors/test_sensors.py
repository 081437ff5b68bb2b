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
    assert all(f.name in names or f.name.startswith("node_hwmon_") for f in fams)


def _chip(tmp_path: Path, files: dict[str, str]) -> Path:
    chip = tmp_path / "sys" / "class" / "hwmon" / "hwmon0"
    chip.mkdir(parents=True)
    (chip / "name").write_text("nct6798\n")
    for name, text in files.items():
        (chip / name).write_text(text + "\n")
    return tmp_path / "sys"


def test_every_sensor_kind_named_and_scaled_as_node_exporter(tmp_path: Path):
    sysfs = _chip(tmp_path, {
        "in0_input": "1104", "in0_min": "0", "in0_max": "1744", "in0_alarm": "0",
        "in0_beep": "1", "cpu0_vid": "1100", "temp1_input": "38000", "temp1_min": "5000",
        "temp1_crit_hyst": "95000", "temp1_crit_alarm": "1", "temp1_type": "4",
        "temp1_alarm": "1", "fan1_input": "900", "fan1_min": "300", "fan1_target": "1000",
        "fan1_div": "8", "fan1_fault": "0", "pwm1": "128", "pwm1_enable": "5",
        "curr1_input": "1500", "power1_input": "12500000", "power1_average": "10000000",
        "power1_accuracy": "950000", "power1_average_interval": "1000", "energy1_input": "5000000",
        "humidity1_input": "45000", "intrusion0_alarm": "1", "beep_enable": "1", "vrm": "9.1",
        "update_interval": "2000", "temp2_input": "not a number", "notasensor1_input": "5"})
    fams = collect(sysfs)
    got = {(s.name, dict(s.labels)["sensor"]): s.value for f in fams for s in f.samples
           if s.name.startswith("node_hwmon_") and s.name != "node_hwmon_chip_names"}
    assert got == {
        ("node_hwmon_in_volts", "in0"): 1.104, ("node_hwmon_in_min_volts", "in0"): 0.0,
        ("node_hwmon_in_max_volts", "in0"): 1.744, ("node_hwmon_in_alarm", "in0"): 0,
        ("node_hwmon_in_beep_enabled", "in0"): 1, ("node_hwmon_cpu_vid_volts", "cpu0"): 1.1,
        ("node_hwmon_temp_celsius", "temp1"): 38.0, ("node_hwmon_temp_min_celsius", "temp1"): 5.0,
        ("node_hwmon_temp_crit_hyst_celsius", "temp1"): 95.0,
        ("node_hwmon_temp_crit_alarm_celsius", "temp1"): 0.001,  # node_exporter's quirk, kept
        ("node_hwmon_temp_type", "temp1"): 4, ("node_hwmon_temp_alarm", "temp1"): 1,
        ("node_hwmon_fan_rpm", "fan1"): 900, ("node_hwmon_fan_min_rpm", "fan1"): 300,
        ("node_hwmon_fan_target_rpm", "fan1"): 1000, ("node_hwmon_fan_div", "fan1"): 8,
        ("node_hwmon_fan_fault", "fan1"): 0, ("node_hwmon_pwm", "pwm1"): 128,
        ("node_hwmon_pwm_enable", "pwm1"): 5, ("node_hwmon_curr_amps", "curr1"): 1.5,
        ("node_hwmon_power_watt", "power1"): 12.5, ("node_hwmon_power_average_watt", "power1"): 10.0,
        ("node_hwmon_power_accuracy", "power1"): 0.95,
        ("node_hwmon_power_average_interval_seconds", "power1"): 1.0,
        ("node_hwmon_energy_joule_total", "energy1"): 5.0,
        ("node_hwmon_humidity", "humidity1"): 0.045, ("node_hwmon_intrusion_alarm", "intrusion0"): 1,
        ("node_hwmon_beep_enabled", "beep_enable0"): 1,
        ("node_hwmon_voltage_regulator_version", "vrm0"): 9.1,
        ("node_hwmon_update_interval_seconds", "update_interval0"): 2.0,
    }
    types = {f.name: f.type for f in fams}
    assert types["node_hwmon_energy_joule_total"] == "counter"
    assert types["node_hwmon_in_volts"] == "gauge"


def test_device_subdirectory_file_wins_as_in_node_exporter(tmp_path: Path):
    sysfs = _chip(tmp_path, {"temp1_input": "30000"})
    device = sysfs / "class" / "hwmon" / "hwmon0" / "device"
    device.mkdir()
    (device / "temp1_input").write_text("31000\n")
    assert value(collect(sysfs), "node_hwmon_temp_celsius", sensor="temp1") == 31.0


def test_cooling_devices(tmp_path: Path):
    thermal = tmp_path / "sys" / "class" / "thermal"
    for n, (ctype, cur, top) in enumerate([("Processor", "0", "3"), ("intel_powerclamp", "-1", "50"),
                                           ("Fan", "x", "1")]):
        d = thermal / f"cooling_device{n}"
        d.mkdir(parents=True)
        for f, text in (("type", ctype), ("cur_state", cur), ("max_state", top)):
            (d / f).write_text(text + "\n")
    fams = collect(tmp_path / "sys")
    assert {(dict(s.labels)["name"], dict(s.labels)["type"]): s.value
            for s in find_samples(fams, "node_cooling_device_cur_state")} == {("0", "Processor"): 0}
    assert {(dict(s.labels)["name"], dict(s.labels)["type"]): s.value
            for s in find_samples(fams, "node_cooling_device_max_state")} == {
        ("0", "Processor"): 3, ("1", "intel_powerclamp"): 50}  # Fan: unreadable state, skipped


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
