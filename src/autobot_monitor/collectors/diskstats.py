"""Block device I/O counters and derived throughput from ``/proc/diskstats``, device info from
udev's database."""

from __future__ import annotations

import os
import re

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector, CounterDelta

#: node_exporter 1.5's default ``--collector.diskstats.device-exclude``: partitions, loop, ram
#: disks, floppies (zram swap devices are kept, as 1.5 keeps them; later releases drop them).
DEFAULT_DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
#: node_exporter's ``--path.udev.data``: udev's database, one ``b<major>:<minor>`` file a device.
DEFAULT_UDEV_DATA_PATH = "/run/udev/data"
UDEV_MAX_BYTES = 64 * 1024  # a udev database entry is a few KiB; more is not one

SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's block size

# (family, index in the numeric fields after the device name, scale to base unit)
_COUNTERS = (
    ("node_disk_reads_completed_total", 0, 1.0),
    ("node_disk_reads_merged_total", 1, 1.0),
    ("node_disk_read_bytes_total", 2, float(SECTOR_BYTES)),
    ("node_disk_read_time_seconds_total", 3, 0.001),
    ("node_disk_writes_completed_total", 4, 1.0),
    ("node_disk_writes_merged_total", 5, 1.0),
    ("node_disk_written_bytes_total", 6, float(SECTOR_BYTES)),
    ("node_disk_write_time_seconds_total", 7, 0.001),
    ("node_disk_io_now", 8, 1.0),
    ("node_disk_io_time_seconds_total", 9, 0.001),
    ("node_disk_io_time_weighted_seconds_total", 10, 0.001),
    # kernel 4.18+: discards; 5.5+: flushes. A shorter line has fewer (node_exporter does so).
    ("node_disk_discards_completed_total", 11, 1.0),
    ("node_disk_discards_merged_total", 12, 1.0),
    ("node_disk_discarded_sectors_total", 13, 1.0),  # sectors, not bytes, as node_exporter
    ("node_disk_discard_time_seconds_total", 14, 0.001),
    ("node_disk_flush_requests_total", 15, 1.0),
    ("node_disk_flush_requests_time_seconds_total", 16, 0.001),
)
_INFO_LABELS = ("device", "major", "minor", "path", "wwn", "model", "serial", "revision")
# node_disk_info's labels from udev properties (node_exporter's udevID* constants)
_UDEV_INFO = (("path", "ID_PATH"), ("wwn", "ID_WWN"), ("model", "ID_MODEL"),
              ("serial", "ID_SERIAL_SHORT"), ("revision", "ID_REVISION"))
_ATA = (("node_disk_ata_write_cache", "ID_ATA_WRITE_CACHE"),
        ("node_disk_ata_write_cache_enabled", "ID_ATA_WRITE_CACHE_ENABLED"),
        ("node_disk_ata_rotation_rate_rpm", "ID_ATA_ROTATION_RATE_RPM"))


def udev_properties(text: str | None) -> dict[str, str]:
    """``E:KEY=VALUE`` lines of a udev database entry -> ``{KEY: VALUE}`` (other lines
    ignored); ``{}`` for ``None``."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        if line.startswith("E:") and "=" in line:
            key, _, value = line[2:].partition("=")
            out[key] = value
    return out



class DiskstatsCollector(Collector):
    """Reads ``/proc/diskstats`` (``major minor name`` then at least 11 counters: reads, merged
    reads, sectors read, ms reading, writes, merged writes, sectors written, ms writing, I/Os in
    flight, ms doing I/O, weighted ms; then, where the kernel has them, discards completed, merged,
    sectors, ms, and flushes completed, ms) and exports node_exporter's ``node_disk_*{device}``
    families in base units (sectors * 512 -> bytes, ms -> seconds; discarded sectors stay sectors
    as node_exporter has them). ``node_disk_info{device,major,minor,path,wwn,model,serial,
    revision}`` = 1 for every device, its labels from udev's ``E:`` properties in
    ``<udev_data_path>/b<major>:<minor>`` (option, default :data:`DEFAULT_UDEV_DATA_PATH`; ""
    without udev), plus ``node_disk_{filesystem,device_mapper}_info`` and ``node_disk_ata_*``
    where udev knows them.

    Devices matching option ``device_exclude`` (a regex, default :data:`DEFAULT_DEVICE_EXCLUDE`)
    are skipped. Derived gauges from counter deltas over the monotonic clock:
    ``autobot_disk_read_bytes_per_second``, ``autobot_disk_written_bytes_per_second`` and
    ``autobot_disk_io_utilization_percent`` (share of elapsed time the device had I/O in flight).
    A rate is absent on a device's first sample and whenever a counter went down (reboot, reset).
    Utilisation can exceed 100 by a hair because the kernel and our clock tick independently; it
    is capped at 100 (a ratio above 105 means bad input and is dropped instead).
    """

    name = "diskstats"
    isolate = False
    SPECS = (
        MetricSpec("node_disk_reads_completed_total", "counter",
                   "The total number of reads completed successfully.", "", ("device",)),
        MetricSpec("node_disk_reads_merged_total", "counter",
                   "The total number of reads merged.", "", ("device",)),
        MetricSpec("node_disk_read_bytes_total", "counter",
                   "The total number of bytes read successfully.", "bytes", ("device",)),
        MetricSpec("node_disk_read_time_seconds_total", "counter",
                   "The total number of seconds spent by all reads.", "seconds", ("device",)),
        MetricSpec("node_disk_writes_completed_total", "counter",
                   "The total number of writes completed successfully.", "", ("device",)),
        MetricSpec("node_disk_writes_merged_total", "counter",
                   "The number of writes merged.", "", ("device",)),
        MetricSpec("node_disk_written_bytes_total", "counter",
                   "The total number of bytes written successfully.", "bytes", ("device",)),
        MetricSpec("node_disk_write_time_seconds_total", "counter",
                   "This is the total number of seconds spent by all writes.", "seconds",
                   ("device",)),
        MetricSpec("node_disk_io_now", "gauge",
                   "The number of I/Os currently in progress.", "", ("device",)),
        MetricSpec("node_disk_io_time_seconds_total", "counter",
                   "Total seconds spent doing I/Os.", "seconds", ("device",)),
        MetricSpec("node_disk_io_time_weighted_seconds_total", "counter",
                   "The weighted # of seconds spent doing I/Os.", "seconds", ("device",)),
        MetricSpec("node_disk_discards_completed_total", "counter",
                   "The total number of discards completed successfully.", "", ("device",)),
        MetricSpec("node_disk_discards_merged_total", "counter",
                   "The total number of discards merged.", "", ("device",)),
        MetricSpec("node_disk_discarded_sectors_total", "counter",
                   "The total number of sectors discarded successfully.", "", ("device",)),
        MetricSpec("node_disk_discard_time_seconds_total", "counter",
                   "This is the total number of seconds spent by all discards.", "seconds",
                   ("device",)),
        MetricSpec("node_disk_flush_requests_total", "counter",
                   "The total number of flush requests completed successfully", "", ("device",)),
        MetricSpec("node_disk_flush_requests_time_seconds_total", "counter",
                   "This is the total number of seconds spent by all flush requests.", "seconds",
                   ("device",)),
        MetricSpec("node_disk_info", "info", "Info of /sys/block/<block_device>.", "",
                   _INFO_LABELS),
        MetricSpec("node_disk_filesystem_info", "info", "Info about disk filesystem.", "",
                   ("device", "type", "usage", "uuid", "version")),
        MetricSpec("node_disk_device_mapper_info", "info", "Info about disk device mapper.", "",
                   ("device", "name", "uuid", "vg_name", "lv_name", "lv_layer")),
        MetricSpec("node_disk_ata_write_cache", "gauge", "ATA disk has a write cache.", "",
                   ("device",)),
        MetricSpec("node_disk_ata_write_cache_enabled", "gauge",
                   "ATA disk has its write cache enabled.", "", ("device",)),
        MetricSpec("node_disk_ata_rotation_rate_rpm", "gauge",
                   "ATA disk rotation rate in RPMs (0 for SSDs).", "rpm", ("device",)),
        MetricSpec("autobot_disk_read_bytes_per_second", "gauge",
                   "Bytes read per second since the previous collection.", "bytes_per_second",
                   ("device",)),
        MetricSpec("autobot_disk_written_bytes_per_second", "gauge",
                   "Bytes written per second since the previous collection.", "bytes_per_second",
                   ("device",)),
        MetricSpec("autobot_disk_io_utilization_percent", "gauge",
                   "Share of time the device had I/O in progress since the previous collection.",
                   "percent", ("device",)),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self._exclude = re.compile(self.options.get("device_exclude", DEFAULT_DEVICE_EXCLUDE))
        self._udev = self.options.get("udev_data_path", DEFAULT_UDEV_DATA_PATH)
        self._delta = CounterDelta()

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("diskstats")
        text = self.files.read(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        now = self.ctx.clock.monotonic()
        fams = {s.name: s.family() for s in self.SPECS}
        seen: set[str] = set()
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 14 or fields[2] in seen or self._exclude.search(fields[2]):
                continue
            try:
                major, minor = int(fields[0]), int(fields[1])
                values = [int(f) for f in fields[3:20]]
            except ValueError:
                continue
            if any(v < 0 for v in values) or major < 0 or minor < 0:
                continue
            device = fields[2]
            seen.add(device)
            labels = {"device": device}
            for name, idx, scale in _COUNTERS[:len(values)]:
                fams[name].add(values[idx] * scale, labels)
            self._udev_families(fams, device, major, minor)
            self._rates(fams, device, values, now)
        self._delta.retain((d, k) for d in seen for k in ("read", "write", "io"))
        return [f for f in fams.values() if f.samples]

    def _udev_families(self, fams: dict[str, MetricFamily], device: str, major: int,
                       minor: int) -> None:
        """``node_disk_info`` (udev labels "" when udev has no entry) and, where udev says,
        the filesystem, device-mapper and ATA families, as node_exporter derives them."""
        info = udev_properties(self._udev_entry(major, minor))
        fams["node_disk_info"].add(1, {"device": device, "major": str(major),
                                       "minor": str(minor),
                                       **{k: info.get(p, "") for k, p in _UDEV_INFO}})
        if info.get("ID_FS_TYPE"):
            fams["node_disk_filesystem_info"].add(1, {
                "device": device, "type": info["ID_FS_TYPE"], "usage": info.get("ID_FS_USAGE", ""),
                "uuid": info.get("ID_FS_UUID", ""), "version": info.get("ID_FS_VERSION", "")})
        if info.get("DM_NAME"):
            fams["node_disk_device_mapper_info"].add(1, {
                "device": device, "name": info["DM_NAME"], "uuid": info.get("DM_UUID", ""),
                "vg_name": info.get("DM_VG_NAME", ""), "lv_name": info.get("DM_LV_NAME", ""),
                "lv_layer": info.get("DM_LV_LAYER", "")})
        if info.get("ID_ATA"):
            for name, prop in _ATA:
                try:
                    fams[name].add(float(info[prop]), {"device": device})
                except (KeyError, ValueError):
                    continue

    def _udev_entry(self, major: int, minor: int) -> str | None:
        try:
            with open(os.path.join(self._udev, f"b{major}:{minor}"), encoding="utf-8",
                      errors="replace") as f:
                return f.read(UDEV_MAX_BYTES)
        except OSError:
            return None

    def _rates(self, fams: dict[str, MetricFamily], device: str, values: list[int],
               now: float) -> None:
        labels = {"device": device}
        read_rate = self._delta.update((device, "read"), values[2], now)
        write_rate = self._delta.update((device, "write"), values[6], now)
        io_rate = self._delta.update((device, "io"), values[9], now)
        if read_rate is not None:
            fams["autobot_disk_read_bytes_per_second"].add(read_rate * SECTOR_BYTES, labels)
        if write_rate is not None:
            fams["autobot_disk_written_bytes_per_second"].add(write_rate * SECTOR_BYTES, labels)
        if io_rate is not None:
            pct = io_rate / 10.0  # ms of I/O per second of wall time -> percent
            if pct <= 105.0:
                fams["autobot_disk_io_utilization_percent"].add(min(pct, 100.0), labels)
