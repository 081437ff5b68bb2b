"""diskstats collector: /proc/diskstats counters and derived rates."""

from __future__ import annotations

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.diskstats import DiskstatsCollector
from autobot_monitor.errors import CollectorError


def _disks(host, *lines):
    host.proc("diskstats", "\n".join(lines) + "\n")


def test_recorded_counters_in_base_units_and_partitions_skipped(recorded):
    fams = DiskstatsCollector(recorded.ctx()).collect()
    devices = {dict(k)["device"] for k in recorded.values(fams, "node_disk_reads_completed_total")}
    assert devices == {"nvme0n1", "sda", "dm-0", "zram0"}  # node_exporter 1.5 keeps zram
    v = lambda name: recorded.value(fams, name, device="nvme0n1")  # noqa: E731
    assert v("node_disk_reads_completed_total") == 200000
    assert v("node_disk_reads_merged_total") == 5000
    assert v("node_disk_read_bytes_total") == 8000000 * 512
    assert v("node_disk_read_time_seconds_total") == 90.0
    assert v("node_disk_writes_completed_total") == 150000
    assert v("node_disk_written_bytes_total") == 6000000 * 512
    assert v("node_disk_write_time_seconds_total") == 120.0
    assert v("node_disk_io_now") == 3
    assert v("node_disk_io_time_seconds_total") == 180.0
    assert v("node_disk_io_time_weighted_seconds_total") == 210.0
    # an old kernel's 14-field line (sda) parses too
    assert recorded.value(fams, "node_disk_io_time_seconds_total", device="sda") == 6.0


def test_rates_from_deltas_over_monotonic_time(host):
    _disks(host, host.diskstats_line("sda", sectors_read=1000, sectors_written=2000, io_ms=100))
    c = DiskstatsCollector(host.ctx())
    first = c.collect()
    assert not [n for n in host.names(first) if n.startswith("autobot_")]
    _disks(host, host.diskstats_line("sda", sectors_read=3000, sectors_written=2000, io_ms=2600))
    host.clock.advance(10)
    fams = c.collect()
    assert host.value(fams, "autobot_disk_read_bytes_per_second", device="sda") == 2000 * 512 / 10
    assert host.value(fams, "autobot_disk_written_bytes_per_second", device="sda") == 0
    assert host.value(fams, "autobot_disk_io_utilization_percent", device="sda") == 25.0


def test_wall_clock_stepping_back_does_not_disturb_rates(host):
    _disks(host, host.diskstats_line("sda", sectors_read=0))
    c = DiskstatsCollector(host.ctx())
    c.collect()
    host.clock.advance(4)
    host.clock.set_wall(host.clock.time() - 3600)
    _disks(host, host.diskstats_line("sda", sectors_read=800))
    fams = c.collect()
    assert host.value(fams, "autobot_disk_read_bytes_per_second", device="sda") == 800 * 512 / 4


def test_counter_lower_than_before_gives_no_rate(host):
    _disks(host, host.diskstats_line("sda", sectors_read=10**9, sectors_written=10**9, io_ms=10**7))
    c = DiskstatsCollector(host.ctx())
    c.collect()
    _disks(host, host.diskstats_line("sda", sectors_read=50, sectors_written=10**9 + 8, io_ms=5))
    host.clock.advance(10)
    fams = c.collect()
    assert host.value(fams, "autobot_disk_read_bytes_per_second", device="sda") is None
    assert host.value(fams, "autobot_disk_io_utilization_percent", device="sda") is None
    assert host.value(fams, "autobot_disk_written_bytes_per_second", device="sda") == 8 * 512 / 10
    for name in ("autobot_disk_read_bytes_per_second", "autobot_disk_written_bytes_per_second",
                 "autobot_disk_io_utilization_percent"):
        assert all(v >= 0 for v in host.values(fams, name).values())
    # next cycle rates resume from the new baseline
    _disks(host, host.diskstats_line("sda", sectors_read=150, sectors_written=10**9 + 8, io_ms=1005))
    host.clock.advance(10)
    fams = c.collect()
    assert host.value(fams, "autobot_disk_read_bytes_per_second", device="sda") == 100 * 512 / 10
    assert host.value(fams, "autobot_disk_io_utilization_percent", device="sda") == 10.0


def test_utilization_slightly_over_100_is_capped_absurd_is_dropped(host):
    _disks(host, host.diskstats_line("sda", io_ms=0), host.diskstats_line("sdb", io_ms=0))
    c = DiskstatsCollector(host.ctx())
    c.collect()
    _disks(host, host.diskstats_line("sda", io_ms=1020), host.diskstats_line("sdb", io_ms=5000))
    host.clock.advance(1)
    fams = c.collect()
    assert host.value(fams, "autobot_disk_io_utilization_percent", device="sda") == 100.0
    assert host.value(fams, "autobot_disk_io_utilization_percent", device="sdb") is None


def test_garbage_and_truncated_lines_skipped(host):
    _disks(host, host.diskstats_line("sda", reads=7), "   8 16 sdb 1 2 3", "8 32 sdc x y z 1 2 3 4 5 6 7 8",
           "", "\x00garbage", host.diskstats_line("vdb", reads=9))
    fams = DiskstatsCollector(host.ctx()).collect()
    assert host.values(fams, "node_disk_reads_completed_total") == {
        (("device", "sda"),): 7, (("device", "vdb"),): 9}


def test_device_exclude_option(recorded):
    fams = DiskstatsCollector(recorded.ctx({"diskstats": {"device_exclude": "^dm-"}})).collect()
    devices = {dict(k)["device"] for k in recorded.values(fams, "node_disk_io_now")}
    assert "dm-0" not in devices and "nvme0n1p1" in devices and "loop0" in devices


def test_vanished_device_state_is_forgotten(host):
    _disks(host, host.diskstats_line("sda", sectors_read=100), host.diskstats_line("sdb"))
    c = DiskstatsCollector(host.ctx())
    c.collect()
    _disks(host, host.diskstats_line("sdb"))
    host.clock.advance(1)
    c.collect()
    _disks(host, host.diskstats_line("sda", sectors_read=500), host.diskstats_line("sdb"))
    host.clock.advance(1)
    fams = c.collect()  # sda is new again: no rate against its stale value
    assert host.value(fams, "autobot_disk_read_bytes_per_second", device="sda") is None


def test_missing_file_raises(host):
    with pytest.raises(CollectorError, match="diskstats"):
        DiskstatsCollector(host.ctx()).collect()


def test_real_machine_collects_without_error():
    c = DiskstatsCollector(CollectorContext())
    c.collect()
    fams = c.collect()
    for f in fams:
        assert all(s.value >= 0 for s in f.samples)
        if f.name == "autobot_disk_io_utilization_percent":
            assert all(s.value <= 100 for s in f.samples)


def test_discard_and_flush_fields_only_where_the_kernel_has_them(recorded):
    fams = DiskstatsCollector(recorded.ctx()).collect()
    v = lambda name, dev="nvme0n1": recorded.value(fams, name, device=dev)  # noqa: E731
    assert v("node_disk_discards_completed_total") == 500
    assert v("node_disk_discards_merged_total") == 0
    assert v("node_disk_discarded_sectors_total") == 4000  # sectors, as node_exporter has it
    assert v("node_disk_discard_time_seconds_total") == 0.1
    assert v("node_disk_flush_requests_total") == 7000
    assert v("node_disk_flush_requests_time_seconds_total") == 0.3
    # sda's 14-field line (kernel < 4.18) has neither: absent, not 0
    assert v("node_disk_discards_completed_total", "sda") is None
    assert v("node_disk_flush_requests_total", "sda") is None
    assert v("node_disk_io_time_weighted_seconds_total", "sda") == 7.0


def test_disk_info_from_udev_database(host):
    _disks(host, host.diskstats_line("sda", major=8, minor=0),
           host.diskstats_line("dm-0", major=253, minor=0), host.diskstats_line("vdb", major=252))
    udev = host.base / "udev"
    udev.mkdir()
    (udev / "b8:0").write_text(
        "S:disk/by-id/ata-X\nE:ID_ATA=1\nE:ID_MODEL=Samsung_SSD\nE:ID_SERIAL_SHORT=S1\n"
        "E:ID_REVISION=1B6Q\nE:ID_WWN=0x5002\nE:ID_PATH=pci-0000:00:17.0-ata-1\n"
        "E:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=0\nE:ID_ATA_ROTATION_RATE_RPM=x\n"
        "E:ID_FS_TYPE=ext4\nE:ID_FS_UUID=abc\nE:ID_FS_USAGE=filesystem\nE:ID_FS_VERSION=1.0\n"
        "garbage line\nE:NOEQUALS\n")
    (udev / "b253:0").write_text("E:DM_NAME=vg-root\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\n")
    fams = DiskstatsCollector(host.ctx({"diskstats": {"udev_data_path": str(udev)}})).collect()
    info = host.values(fams, "node_disk_info")
    assert info[(("device", "sda"), ("major", "8"), ("minor", "0"), ("model", "Samsung_SSD"),
                 ("path", "pci-0000:00:17.0-ata-1"), ("revision", "1B6Q"), ("serial", "S1"),
                 ("wwn", "0x5002"))] == 1
    # no udev entry: the device is still listed, its udev labels empty
    assert (("device", "vdb"), ("major", "252"), ("minor", "0"), ("model", ""), ("path", ""),
            ("revision", ""), ("serial", ""), ("wwn", "")) in info
    assert host.value(fams, "node_disk_ata_write_cache", device="sda") == 1
    assert host.value(fams, "node_disk_ata_write_cache_enabled", device="sda") == 0
    assert "node_disk_ata_rotation_rate_rpm" not in host.names(fams)  # "x" is no number
    assert host.value(fams, "node_disk_filesystem_info", device="sda", type="ext4",
                      usage="filesystem", uuid="abc", version="1.0") == 1
    assert host.value(fams, "node_disk_device_mapper_info", device="dm-0", name="vg-root",
                      uuid="", vg_name="vg", lv_name="root", lv_layer="") == 1
