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
        "temperature_max_celsius": 61.0, "processes": 321.0,
        "pressure": dict.fromkeys(("cpu_waiting_percent", "memory_waiting_percent",
                                   "memory_stalled_percent", "io_waiting_percent",
                                   "io_stalled_percent")),
        "tcp_retransmit_percent": None, "clock": {"synchronised": None, "offset_seconds": None},
        "units": {"failed": None}, "failed_units": [], "disks": [], "containers": [],
        "uptime_seconds": 3600.0, "boot_time_seconds": 1.7e9,
    }
    assert list(s) == ["cpu_percent", "cpu_count", "load1", "load5", "load15", "memory",
                       "filesystems", "disk_used_percent_max", "disk_io", "network",
                       "gpu_available", "gpus", "npu_available", "npus",
                       "temperature_max_celsius", "processes", "pressure",
                       "tcp_retransmit_percent", "clock", "units", "failed_units", "disks",
                       "containers", "uptime_seconds", "boot_time_seconds"]


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


HEALTH = """\
autobot_pressure_waiting_percent{resource="cpu"} 12.5
autobot_pressure_waiting_percent{resource="memory"} 3
autobot_pressure_stalled_percent{resource="memory"} 1
autobot_pressure_stalled_percent{resource="io"} NaN
autobot_tcp_retransmit_percent 0.25
node_timex_sync_status 0
node_timex_offset_seconds -0.002
node_systemd_units{state="failed"} 2
node_systemd_units{state="active"} 40
node_systemd_unit_state{name="a.service",state="failed",type="simple"} 1
node_systemd_unit_state{name="a.service",state="active",type="simple"} 0
node_systemd_unit_state{name="b.service",state="failed",type="oneshot"} 1
node_systemd_unit_state{name="c.service",state="failed",type="simple"} 0
node_systemd_unit_state{name="c.service",state="active",type="simple"} 1
smartctl_device_smart_status{device="sda"} 1
smartctl_device_smart_status{device="nvme0"} 0
smartctl_device_temperature{device="sda",temperature_type="current"} 34
smartctl_device_temperature{device="sda",temperature_type="drive_trip"} 70
smartctl_device_percentage_used{device="nvme0"} 7
smartctl_device_media_errors{device="nvme0"} 3
smartctl_device_power_on_seconds{device="sda"} 3600
container_cpu_usage_seconds_total{cpu="total",id="/system.slice/docker-ab.scope",name="web"} 9
autobot_container_cpu_percent{id="/system.slice/docker-ab.scope",name="web"} 48.5
autobot_container_cpu_limit_cores{id="/system.slice/docker-ab.scope",name="web"} 0.5
container_memory_working_set_bytes{id="/system.slice/docker-ab.scope",name="web"} 1048576
container_oom_events_total{id="/system.slice/docker-ab.scope",name="web"} 1
container_cpu_usage_seconds_total{cpu="total",id="/system.slice/cron.service",name="cron.service"} 2
"""


def test_pressure_clock_units_and_disk_health():
    s = summarize(exposition.parse(HEALTH))
    assert s["pressure"] == {"cpu_waiting_percent": 12.5, "memory_waiting_percent": 3.0,
                             "memory_stalled_percent": 1.0, "io_waiting_percent": None,
                             "io_stalled_percent": None}
    assert s["tcp_retransmit_percent"] == 0.25
    assert s["clock"] == {"synchronised": 0.0, "offset_seconds": -0.002}
    assert s["units"] == {"failed": 2.0}
    # only units whose failed series is 1; c.service's failed series is 0 (it is active)
    assert s["failed_units"] == [{"name": "a.service", "type": "simple"},
                                 {"name": "b.service", "type": "oneshot"}]
    disks = {d["device"]: d for d in s["disks"]}
    assert disks["sda"] == {"device": "sda", "smart_status": 1.0, "temperature_celsius": 34.0,
                            "power_on_seconds": 3600.0, "percentage_used": None,
                            "media_errors": None, "critical_warning": None}
    assert disks["nvme0"]["smart_status"] == 0.0 and disks["nvme0"]["media_errors"] == 3.0
    assert s["containers"] == [
        {"id": "/system.slice/docker-ab.scope", "name": "web", "cpu_percent": 48.5,
         "cpu_limit_cores": 0.5, "memory_working_set_bytes": 1048576.0,
         "memory_limit_bytes": None, "oom_events": 1.0, "processes": None},  # no limit: None
        {"id": "/system.slice/cron.service", "name": "cron.service", "cpu_percent": None,
         "cpu_limit_cores": None, "memory_working_set_bytes": None, "memory_limit_bytes": None,
         "oom_events": None, "processes": None}]


def test_a_host_without_psi_systemd_or_smart_reports_them_not_measured():
    s = summarize(exposition.parse(SCRAPE))
    assert set(s["pressure"].values()) == {None}
    assert s["units"] == {"failed": None} and s["failed_units"] == [] and s["disks"] == []
    assert s["clock"] == {"synchronised": None, "offset_seconds": None}
