"""Intel NPU busy time and utilisation from the ``intel_vpu`` kernel driver's sysfs counter.

Source: every ``<sysfs>/class/accel/accel<N>`` device. The driver (Linux 6.10+) puts
``npu_busy_time_us`` on the PCI device, so the file is read as ``accel<N>/device/npu_busy_time_us``
(that link resolves to ``/sys/devices/pci.../npu_busy_time_us``); ``accel<N>/npu_busy_time_us``
is tried too. The value is the cumulative number of microseconds the NPU spent with jobs
submitted to firmware. An accel device without that file (another vendor's accelerator) is not
an NPU and is ignored. The kernel recommends reading it about once a second at most.

Families:

* ``autobot_npu_available`` — 1 if at least one NPU counter was read this cycle, else 0 (always
  emitted; a machine without an NPU is normal and logs once at debug level).
* ``autobot_npu_busy_seconds_total{npu}`` — the counter in seconds. ``npu`` is the accel device
  name (``accel0``), which matches ``/dev/accel/accel0``.
* ``autobot_npu_utilization_percent{npu}`` — busy-time delta / elapsed monotonic time * 100,
  from :class:`~.base.CounterDelta`. Absent on the first read of a device and after the counter
  went down (driver reload, reset). Because the kernel reads its clock when the file is read and
  we read the monotonic clock a moment later, the ratio can come out slightly above 100 while
  the NPU is saturated; such values are capped at 100.
* ``autobot_npu_info{npu,driver}`` — 1, ``driver`` is the basename of ``device/driver``
  (normally ``intel_vpu``); only emitted when that link resolves.
"""

from __future__ import annotations

import logging
import os
import re

from ..model import MetricFamily, MetricSpec
from .base import Collector, CounterDelta, read_int

log = logging.getLogger(__name__)

_ACCEL_RE = re.compile(r"^accel(\d+)$")
BUSY_FILE = "npu_busy_time_us"


class NpuCollector(Collector):
    """Intel NPU busy-time counter and utilisation (see module docstring)."""

    name = "npu"
    SPECS = (
        MetricSpec("autobot_npu_available", "gauge",
                   "1 if an NPU busy-time counter was readable this cycle, else 0."),
        MetricSpec("autobot_npu_busy_seconds_total", "counter",
                   "Cumulative time the NPU had jobs submitted (npu_busy_time_us / 1e6).", "seconds",
                   ("npu",)),
        MetricSpec("autobot_npu_utilization_percent", "gauge",
                   "Share of wall time the NPU was busy since the previous read, capped at 100.",
                   "percent", ("npu",)),
        MetricSpec("autobot_npu_info", "info",
                   "NPU device and its kernel driver (value always 1).", "", ("npu", "driver")),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self._delta = CounterDelta()
        self._logged_absent = False

    def collect(self) -> list[MetricFamily]:
        available = self.spec("autobot_npu_available").family()
        busy = self.spec("autobot_npu_busy_seconds_total").family()
        util = self.spec("autobot_npu_utilization_percent").family()
        info = self.spec("autobot_npu_info").family()
        seen: list[str] = []
        for npu, accel_dir in self._devices():
            us = _read_busy_us(accel_dir)
            if us is None:
                continue
            now = self.ctx.clock.monotonic()
            seen.append(npu)
            labels = {"npu": npu}
            busy.add(us / 1e6, labels)
            rate = self._delta.update(npu, float(us), now)  # microseconds busy per second
            if rate is not None:
                util.add(min(100.0, rate / 1e4), labels)
            driver = _driver_name(accel_dir)
            if driver:
                info.add(1, {"npu": npu, "driver": driver})
        self._delta.retain(seen)
        if not seen and not self._logged_absent:
            log.debug("npu: no readable %s under %s", BUSY_FILE, self.ctx.sys("class", "accel"))
            self._logged_absent = True
        available.add(1 if seen else 0)
        return [f for f in (available, busy, util, info) if f.samples]

    def _devices(self) -> list[tuple[str, str]]:
        base = self.ctx.sys("class", "accel")
        try:
            entries = os.listdir(base)
        except OSError:
            return []
        found = sorted((int(m.group(1)), e) for e in entries if (m := _ACCEL_RE.match(e)))
        return [(e, os.path.join(base, e)) for _, e in found]


def _read_busy_us(accel_dir: str) -> int | None:
    for path in (os.path.join(accel_dir, "device", BUSY_FILE), os.path.join(accel_dir, BUSY_FILE)):
        v = read_int(path)
        if v is not None and v >= 0:
            return v
    return None


def _driver_name(accel_dir: str) -> str:
    link = os.path.join(accel_dir, "device", "driver")
    if not os.path.exists(link):
        return ""
    return os.path.basename(os.path.realpath(link))
