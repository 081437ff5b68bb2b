"""A host's summary, computed from recorded samples by evaluating the declared figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from autobot_monitor import exposition
from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.gpu import GpuCollector
from autobot_monitor.collectors.nvml_replay import NvmlReplay
from autobot_monitor.hub.summary import summarize

NVML = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"

# What an agent answered on /metrics (abridged): two CPUs, two filesystems, loopback and eth0,
# two disks, two temperature sources, one NaN.
SCRAPE = """\
autobot_cpu_busy_percent{cpu="all"} 37.5
autobot_cpu_busy_percent{cpu="0"} 75
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="user"} 50
node_cpu_seconds_total{cpu="1",mode="idle"} 120
node_load1 0.5
node_load5 0.25
node_load15 0.125
node_memory_MemTotal_bytes 8e9
node_memory_MemAvailable_bytes 6e9
autobot_memory_used_percent 25
autobot_swap_used_percent NaN
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1000
node_filesystem_size_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 4000
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 400
node_filesystem_avail_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 1000
autobot_filesystem_used_percent{device="/dev/sda1",fstype="ext4",mountpoint="/"} 60
autobot_filesystem_used_percent{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 75
autobot_disk_read_bytes_per_second{device="sda"} 100
autobot_disk_read_bytes_per_second{device="sdb"} 50
autobot_disk_written_bytes_per_second{device="sda"} 10
autobot_network_receive_bytes_per_second{device="lo"} 1e6
autobot_network_receive_bytes_per_second{device="eth0"} 2000
autobot_network_transmit_bytes_per_second{device="lo"} 1e6
autobot_network_transmit_bytes_per_second{device="eth0"} 300
autobot_gpu_available 0
autobot_npu_available 1
autobot_npu_utilization_percent{npu="0"} 12.5
node_hwmon_temp_celsius{chip="coretemp",sensor="temp1"} 55
node_thermal_zone_temp{type="acpitz",zone="0"} 61
node_processes_pids 321
autobot_uptime_seconds 3600
node_boot_time_seconds 1.7e9
"""


def test_summary_from_a_recorded_scrape():
    s = summarize(exposition.parse(SCRAPE))
    assert s == {
        "cpu_percent": 37.5, "cpu_count": 2, "load1": 0.5, "load5": 0.25, "load15": 0.125,
        "memory": {"total_bytes": 8e9, "available_bytes": 6e9, "used_percent": 25.0,
                   "swap_used_percent": None},  # NaN: not measured
        "filesystems": [
            {"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4", "size_bytes": 1000.0,
             "avail_bytes": 400.0, "used_percent": 60.0},
            {"mountpoint": "/data", "device": "/dev/sdb1", "fstype": "xfs", "size_bytes": 4000.0,
             "avail_bytes": 1000.0, "used_percent": 75.0}],
        "disk_used_percent_max": 75.0,
        "disk_io": {"read_bytes_per_second": 150.0, "written_bytes_per_second": 10.0},
        "network": {"receive_bytes_per_second": 2000.0, "transmit_bytes_per_second": 300.0},
        "gpu_available": 0.0, "gpus": [],
        "npu_available": 1.0, "npus": [{"npu": "0", "utilization_percent": 12.5}],
        "temperature_max_celsius": 61.0, "processes": 321.0, "uptime_seconds": 3600.0,
        "boot_time_seconds": 1.7e9,
    }
    assert list(s) == ["cpu_percent", "cpu_count", "load1", "load5", "load15", "memory",
                       "filesystems", "disk_used_percent_max", "disk_io", "network",
                       "gpu_available", "gpus", "npu_available", "npus",
                       "temperature_max_celsius", "processes", "uptime_seconds",
                       "boot_time_seconds"]


def test_missing_inputs_are_not_measured_never_zero():
    s = summarize([])
    assert s["cpu_percent"] is None and s["cpu_count"] is None
    assert s["memory"] == dict.fromkeys(("total_bytes", "available_bytes", "used_percent",
                                         "swap_used_percent"))
    assert s["network"] == {"receive_bytes_per_second": None, "transmit_bytes_per_second": None}
    assert s["filesystems"] == [] and s["gpus"] == [] and s["disk_used_percent_max"] is None
    only_lo = exposition.parse('autobot_network_receive_bytes_per_second{device="lo"} 5\n'
                               'autobot_cpu_busy_percent{cpu="0"} 90\n')
    s = summarize(only_lo)
    assert s["network"]["receive_bytes_per_second"] is None  # loopback is left out
    assert s["cpu_percent"] is None  # one core's figure is not the host's


@pytest.mark.parametrize("fixture", ["two_gpus", "no_devices"])
def test_gpu_figures_from_a_recorded_nvml_session(fixture):
    clock = FakeClock()
    col = GpuCollector(CollectorContext(nvml=NvmlReplay.load(str(NVML / f"{fixture}.json")),
                                        clock=clock))
    list(col.collect())
    clock.advance(10)
    s = summarize(list(col.collect()))
    if fixture == "no_devices":
        assert s["gpus"] == []
        return
    assert s["gpu_available"] == 1
    assert s["gpus"][0] == {"gpu": "0", "name": "NVIDIA H200", "utilization_percent": 87.0,
                            "memory_used_bytes": 86330310656.0, "memory_total_bytes": 150754820096.0,
                            "temperature_celsius": 54.0, "power_watts": 512.345}
    assert [(g["gpu"], g["utilization_percent"]) for g in s["gpus"]] == [("0", 87.0), ("1", 0.0)]
