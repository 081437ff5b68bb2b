"""Block device I/O counters and derived throughput from ``/proc/diskstats``."""

from __future__ import annotations

import re

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector, CounterDelta, read_text

#: node_exporter's default ``--collector.diskstats.device-exclude``: partitions, loop, ram, floppy.
DEFAULT_DEVICE_EXCLUDE = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"

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
)


class DiskstatsCollector(Collector):
    """Reads ``/proc/diskstats`` (``major minor name`` then at least 11 counters: reads, merged
    reads, sectors read, ms reading, writes, merged writes, sectors written, ms writing, I/Os in
    flight, ms doing I/O, weighted ms) and exports node_exporter's ``node_disk_*{device}`` families
    in base units (sectors * 512 -> bytes, ms -> seconds).

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
        self._delta = CounterDelta()

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("diskstats")
        text = read_text(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        now = self.ctx.clock.monotonic()
        fams = {s.name: s.family() for s in self.SPECS}
        seen: set[str] = set()
        keys = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 14:
                continue
            device = fields[2]
            if device in seen or self._exclude.search(device):
                continue
            try:
                values = [int(f) for f in fields[3:14]]
            except ValueError:
                continue
            if any(v < 0 for v in values):
                continue
            seen.add(device)
            labels = {"device": device}
            for name, idx, scale in _COUNTERS:
                fams[name].add(values[idx] * scale, labels)
            read_rate = self._delta.update((device, "read"), values[2], now)
            write_rate = self._delta.update((device, "write"), values[6], now)
            io_rate = self._delta.update((device, "io"), values[9], now)
            keys += [(device, "read"), (device, "write"), (device, "io")]
            if read_rate is not None:
                fams["autobot_disk_read_bytes_per_second"].add(read_rate * SECTOR_BYTES, labels)
            if write_rate is not None:
                fams["autobot_disk_written_bytes_per_second"].add(write_rate * SECTOR_BYTES, labels)
            if io_rate is not None:
                pct = io_rate / 10.0  # ms of I/O per second of wall time -> percent
                if pct <= 105.0:
                    fams["autobot_disk_io_utilization_percent"].add(min(pct, 100.0), labels)
        self._delta.retain(keys)
        return [f for f in fams.values() if f.samples]
