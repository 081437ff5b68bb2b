"""CPU frequencies, thermal throttle counts and isolated CPUs from ``/sys/devices/system/cpu``."""

from __future__ import annotations

import glob
import os
import re
from typing import ClassVar

from ..model import MetricFamily, MetricSpec
from .base import Collector, read_int, read_text

MAX_CPUS = 8192
# (family, file under cpu<N>/cpufreq/, in kHz)
_FREQS = (
    ("node_cpu_frequency_hertz", "cpuinfo_cur_freq", "Current cpu thread frequency in hertz."),
    ("node_cpu_frequency_min_hertz", "cpuinfo_min_freq", "Minimum cpu thread frequency in hertz."),
    ("node_cpu_frequency_max_hertz", "cpuinfo_max_freq", "Maximum cpu thread frequency in hertz."),
    ("node_cpu_scaling_frequency_hertz", "scaling_cur_freq",
     "Current scaled CPU thread frequency in hertz."),
    ("node_cpu_scaling_frequency_min_hertz", "scaling_min_freq",
     "Minimum scaled CPU thread frequency in hertz."),
    ("node_cpu_scaling_frequency_max_hertz", "scaling_max_freq",
     "Maximum scaled CPU thread frequency in hertz."),
)
_CPU_DIR = re.compile(r"^cpu(\d+)$")


def parse_cpu_list(text: str | None, limit: int = MAX_CPUS) -> list[int]:
    """The kernel's CPU list format (``"0-2,5"`` -> [0, 1, 2, 5]); [] for empty or garbage,
    ranges past ``limit`` CPUs cut there."""
    out: list[int] = []
    for part in (text or "").strip().split(","):
        lo, sep, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            return []
        if a < 0 or b < a:
            return []
        out += range(a, min(b, a + limit) + 1)
        if len(out) >= limit:
            return out[:limit]
    return out


def _uint(path: str) -> int | None:
    value = read_int(path)
    return value if value is not None and value >= 0 else None


class CpufreqCollector(Collector):
    """For each ``cpu<N>`` under ``<sysfs>/devices/system/cpu`` (at most :data:`MAX_CPUS`):

    * node_exporter's cpufreq families ``node_cpu_{frequency,scaling_frequency}{,_min,_max}_hertz
      {cpu}`` from ``cpufreq/{cpuinfo,scaling}_{cur,min,max}_freq`` (kHz * 1000); a file the
      driver lacks or refuses gives no sample (``cpuinfo_cur_freq`` is root-only);
    * node_exporter's cpu collector's ``node_cpu_core_throttles_total{package,core}`` and
      ``node_cpu_package_throttles_total{package}`` from ``thermal_throttle/{core,package}_
      throttle_count``, read once per core and package (by ``topology/physical_package_id``
      and ``core_id``; a CPU without them is skipped, as node_exporter does);
    * ``node_cpu_isolated{cpu}`` = 1 for each CPU listed in ``isolated`` (``isolcpus=``).

    Emits nothing on machines without these files (virtual machines, containers). Reading
    ``cpuinfo_cur_freq`` can take milliseconds a CPU on x86, hence its own worker and
    :attr:`default_interval`.
    """

    name = "cpufreq"
    default_interval: ClassVar[float | None] = 15.0
    SPECS = (
        *(MetricSpec(n, "gauge", h, "hertz", ("cpu",)) for n, _, h in _FREQS),
        MetricSpec("node_cpu_core_throttles_total", "counter",
                   "Number of times this CPU core has been throttled.", "", ("package", "core")),
        MetricSpec("node_cpu_package_throttles_total", "counter",
                   "Number of times this CPU package has been throttled.", "", ("package",)),
        MetricSpec("node_cpu_isolated", "gauge",
                   "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
                   "", ("cpu",)),
    )

    def cpus(self) -> list[tuple[int, str]]:
        """``(number, directory)`` of each ``cpu<N>``, by number."""
        found = []
        for path in glob.glob(self.ctx.sys("devices", "system", "cpu", "cpu[0-9]*")):
            m = _CPU_DIR.match(os.path.basename(path))
            if m and os.path.isdir(path):
                found.append((int(m.group(1)), path))
        return sorted(found)[:MAX_CPUS]

    def collect(self) -> list[MetricFamily]:
        fams = {s.name: s.family() for s in self.SPECS}
        cores: dict[tuple[int, int], int | None] = {}
        packages: dict[int, int | None] = {}
        for num, path in self.cpus():
            for name, filename, _ in _FREQS:
                khz = _uint(os.path.join(path, "cpufreq", filename))
                if khz is not None:
                    fams[name].add(khz * 1000, {"cpu": str(num)})
            package = _uint(os.path.join(path, "topology", "physical_package_id"))
            core = _uint(os.path.join(path, "topology", "core_id"))
            if package is None or core is None:
                continue
            throttle = os.path.join(path, "thermal_throttle")
            if (package, core) not in cores:
                cores[(package, core)] = _uint(os.path.join(throttle, "core_throttle_count"))
            if package not in packages:
                packages[package] = _uint(os.path.join(throttle, "package_throttle_count"))
        for (package, core), count in sorted(cores.items()):
            if count is not None:
                fams["node_cpu_core_throttles_total"].add(
                    count, {"package": str(package), "core": str(core)})
        for package, count in sorted(packages.items()):
            if count is not None:
                fams["node_cpu_package_throttles_total"].add(count, {"package": str(package)})
        isolated = read_text(self.ctx.sys("devices", "system", "cpu", "isolated"))
        for cpu in parse_cpu_list(isolated):
            fams["node_cpu_isolated"].add(1, {"cpu": str(cpu)})
        return [f for f in fams.values() if f.samples]
