"""NPU collector: intel_vpu npu_busy_time_us replayed from tests/fixtures/npu with a FakeClock."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.npu import NpuCollector
from autobot_monitor.model import find_samples

METEOR_LAKE = Path(__file__).resolve().parents[1] / "fixtures" / "npu" / "meteor_lake" / "sys"
BUSY = Path("devices", "pci0000:00", "0000:00:0b.0", "npu_busy_time_us")


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    dst = tmp_path / "sys"
    shutil.copytree(METEOR_LAKE, dst, symlinks=True)
    return dst


def make(sysfs: Path | str, clock: FakeClock | None = None) -> NpuCollector:
    return NpuCollector(CollectorContext(sysfs=str(sysfs), clock=clock or FakeClock()))


def set_busy(sysfs: Path, us: int | str) -> None:
    (sysfs / BUSY).write_text(f"{us}\n")


def one(fams, name, **labels):
    found = find_samples(fams, name, **labels)
    assert len(found) == 1, (name, found)
    return found[0].value


def test_busy_counter_in_seconds_and_available():
    fams = make(METEOR_LAKE).collect()
    assert one(fams, "autobot_npu_available") == 1
    assert one(fams, "autobot_npu_busy_seconds_total", npu="accel0") == pytest.approx(1234.56789)
    fam = next(f for f in fams if f.name == "autobot_npu_busy_seconds_total")
    assert fam.type == "counter"


def test_non_npu_accel_device_is_ignored():
    fams = make(METEOR_LAKE).collect()
    assert find_samples(fams, "autobot_npu_busy_seconds_total", npu="accel1") == []


def test_info_carries_driver_name():
    fams = make(METEOR_LAKE).collect()
    assert find_samples(fams, "autobot_npu_info", npu="accel0", driver="intel_vpu")


def test_utilization_absent_on_first_read_then_from_delta(sysfs: Path):
    clock = FakeClock()
    col = make(sysfs, clock)
    set_busy(sysfs, 10_000_000)
    assert find_samples(col.collect(), "autobot_npu_utilization_percent") == []
    clock.advance(2.0)
    set_busy(sysfs, 10_500_000)  # 0.5 s busy in 2 s
    assert one(col.collect(), "autobot_npu_utilization_percent", npu="accel0") == pytest.approx(25.0)
    clock.advance(1.0)
    set_busy(sysfs, 10_500_000)  # idle
    assert one(col.collect(), "autobot_npu_utilization_percent", npu="accel0") == 0.0


def test_utilization_above_100_from_jitter_is_capped(sysfs: Path):
    clock = FakeClock()
    col = make(sysfs, clock)
    set_busy(sysfs, 0)
    col.collect()
    clock.advance(1.0)
    set_busy(sysfs, 1_004_000)  # kernel clock ran 4 ms ahead of ours
    assert one(col.collect(), "autobot_npu_utilization_percent", npu="accel0") == 100.0


def test_counter_decrease_skips_utilization_once(sysfs: Path):
    clock = FakeClock()
    col = make(sysfs, clock)
    set_busy(sysfs, 5_000_000)
    col.collect()
    clock.advance(1.0)
    set_busy(sysfs, 100_000)  # driver reloaded: counter restarted
    fams = col.collect()
    assert find_samples(fams, "autobot_npu_utilization_percent") == []
    assert one(fams, "autobot_npu_busy_seconds_total", npu="accel0") == pytest.approx(0.1)
    clock.advance(1.0)
    set_busy(sysfs, 600_000)
    assert one(col.collect(), "autobot_npu_utilization_percent", npu="accel0") == pytest.approx(50.0)


@pytest.mark.parametrize("content", ["", "garbage", "-5"])
def test_unreadable_counter_means_not_available(sysfs: Path, content: str):
    set_busy(sysfs, content)
    fams = make(sysfs).collect()
    assert one(fams, "autobot_npu_available") == 0
    assert [f.name for f in fams] == ["autobot_npu_available"]


def test_busy_file_directly_on_accel_device_is_read(tmp_path: Path):
    accel = tmp_path / "class" / "accel" / "accel3"
    accel.mkdir(parents=True)
    (accel / "npu_busy_time_us").write_text("2000000\n")
    fams = make(tmp_path).collect()
    assert one(fams, "autobot_npu_busy_seconds_total", npu="accel3") == 2.0
    assert find_samples(fams, "autobot_npu_info") == []  # no device/driver link


def test_machine_without_npu_reports_unavailable_and_logs_once(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG, logger="autobot_monitor.collectors.npu")
    col = make(tmp_path)
    for _ in range(3):
        fams = col.collect()
        assert [(f.name, f.samples[0].value) for f in fams] == [("autobot_npu_available", 0.0)]
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.DEBUG


def test_real_machine_does_not_raise():
    fams = NpuCollector(CollectorContext()).collect()
    assert find_samples(fams, "autobot_npu_available")
