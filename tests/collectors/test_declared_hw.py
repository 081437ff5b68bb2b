"""Every family the sensors, gpu and npu collectors emit is declared in their SPECS, with the
same type, unit and help, and every sample carries exactly the declared label names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors import collector_class
from autobot_monitor.collectors.base import Collector, CollectorContext
from autobot_monitor.collectors.gpu import GpuCollector
from autobot_monitor.collectors.npu import NpuCollector
from autobot_monitor.collectors.nvml_replay import NvmlReplay
from autobot_monitor.collectors.sensors import COMMON_HWMON, SensorsCollector
from autobot_monitor.model import check_metric_name

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def assert_declared(col: Collector, fams) -> None:
    specs = {s.name: s for s in type(col).SPECS}
    emitted = [f.name for f in fams]
    assert len(emitted) == len(set(emitted)), f"duplicate families: {emitted}"
    for fam in fams:
        spec = specs.get(fam.name)
        if spec is None and fam.name.startswith(getattr(type(col), "DYNAMIC_PREFIXES", ())):
            check_metric_name(fam.name, fam.type, fam.unit)  # a name the collector's rules give
            assert fam.samples and all(s.name == fam.name for s in fam.samples), fam.name
            continue
        assert spec is not None, f"{col.name}: {fam.name} not declared"
        assert (fam.type, fam.unit, fam.help) == (spec.type, spec.unit, spec.help), fam.name
        assert fam.samples, f"{fam.name}: empty family emitted"
        for s in fam.samples:
            assert s.name == fam.name
            assert sorted(dict(s.labels)) == sorted(spec.labels), (fam.name, s.labels)
            if spec.type == "info":
                assert s.value == 1


def run_twice(col: Collector, between=lambda: None):
    first = list(col.collect())
    assert_declared(col, first)
    between()
    second = list(col.collect())
    assert_declared(col, second)
    col.close()
    return first + second


@pytest.mark.parametrize("name, cls", [("sensors", SensorsCollector), ("gpu", GpuCollector),
                                       ("npu", NpuCollector)])
def test_registry_names_match(name, cls):
    assert collector_class(name) is cls
    assert cls.name == name
    assert len({s.name for s in cls.SPECS}) == len(cls.SPECS)


def test_sensors_fixture_families_declared():
    col = SensorsCollector(CollectorContext(sysfs=str(FIXTURES / "sensors" / "desktop" / "sys")))
    fams = run_twice(col)
    # the recorded desktop covers every declared family but those only test_sensors' synthetic
    # chip has (voltages, power, alarms...) and cooling-device states (it recorded no max_state)
    synthetic = {n for n, _ in COMMON_HWMON} - {"node_hwmon_pwm"}
    synthetic |= {"node_cooling_device_cur_state", "node_cooling_device_max_state"}
    assert {f.name for f in fams} == {s.name for s in SensorsCollector.SPECS} - synthetic


@pytest.mark.parametrize("fixture", ["two_gpus", "fan_not_supported", "no_devices", "init_failure"])
def test_gpu_fixture_families_declared(fixture):
    nvml = NvmlReplay.load(str(FIXTURES / "nvml" / f"{fixture}.json"))
    fams = run_twice(GpuCollector(CollectorContext(nvml=nvml, clock=FakeClock())))
    if fixture == "two_gpus":
        assert {f.name for f in fams} == {s.name for s in GpuCollector.SPECS}


def test_npu_fixture_families_declared(tmp_path: Path):
    sysfs = tmp_path / "sys"
    shutil.copytree(FIXTURES / "npu" / "meteor_lake" / "sys", sysfs, symlinks=True)
    busy = sysfs / "devices" / "pci0000:00" / "0000:00:0b.0" / "npu_busy_time_us"
    clock = FakeClock()

    def tick():
        clock.advance(1.0)
        busy.write_text("1235000000\n")

    fams = run_twice(NpuCollector(CollectorContext(sysfs=str(sysfs), clock=clock)), tick)
    assert {f.name for f in fams} == {s.name for s in NpuCollector.SPECS}


@pytest.mark.parametrize("cls", [SensorsCollector, GpuCollector, NpuCollector])
def test_real_machine_families_declared(cls):
    run_twice(cls(CollectorContext()))
