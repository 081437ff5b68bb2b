"""Per-container and per-service resource use from cgroup v1/v2 files, with cAdvisor's names.

Every family carries cAdvisor's labels ``id`` (the cgroup path, ``/system.slice/docker-<id>.scope``)
and ``name`` (the container name from the Docker/Podman API, else derived from the path: a short
id, ``nginx.service``, a machine scope). Sources (per cgroup; v2 file first, v1 otherwise, see
:mod:`.cgroupfs`): ``cpu.stat`` / ``cpuacct.usage`` + ``cpuacct.stat`` + v1 ``cpu.stat``,
``cpu.max`` / ``cpu.cfs_quota_us`` + ``cpu.cfs_period_us``, ``memory.current`` +
``memory.stat`` / ``memory.usage_in_bytes`` + ``memory.stat``, ``memory.max`` /
``memory.limit_in_bytes``, ``memory.events`` / ``memory.oom_control`` (``oom_kill``),
``io.stat`` / ``blkio.throttle.io_service_bytes[_recursive]`` + ``io_serviced``,
``pids.current`` + ``pids.max``, ``cgroup.procs``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext, CounterDelta
from .cgroupfs import CgroupReader, CgroupStats, Hierarchies, cgroup_of_pid, find_hierarchies
from .container_api import DEFAULT_SOCKETS, ContainerNamer
from .container_paths import API_RUNTIMES, Match, discover, explicit

log = logging.getLogger(__name__)

L = ("id", "name")
LD = ("id", "name", "device")


def _c(name: str, help_: str, unit: str = "", labels: tuple[str, ...] = L) -> MetricSpec:
    return MetricSpec(name, "counter", help_, unit, labels)


def _g(name: str, help_: str, unit: str = "", labels: tuple[str, ...] = L) -> MetricSpec:
    return MetricSpec(name, "gauge", help_, unit, labels)


SPECS: tuple[MetricSpec, ...] = (
    _c("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds "
       "(cpu=\"total\": all CPUs).", "seconds", ("id", "name", "cpu")),
    _c("container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.",
       "seconds"),
    _c("container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.",
       "seconds"),
    _c("container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals "
       "(only with a CPU quota)."),
    _c("container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals "
       "(only with a CPU quota)."),
    _c("container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been "
       "throttled (only with a CPU quota).", "seconds"),
    _g("container_spec_cpu_quota", "CPU quota of the container, in microseconds per period "
       "(absent without a quota)."),
    _g("container_spec_cpu_period", "CPU period of the container, in microseconds."),
    _g("autobot_container_cpu_percent", "CPU time the container used since the previous "
       "collection per wall second, in percent of one CPU (100 = one core busy; absent on the "
       "first reading and after a counter reset).", "percent"),
    _g("autobot_container_cpu_limit_cores", "CPUs the quota allows: quota / period "
       "(absent without a quota)."),
    _g("container_memory_usage_bytes", "Current memory usage in bytes, including all memory "
       "regardless of when it was accessed.", "bytes"),
    _g("container_memory_working_set_bytes", "Current working set in bytes: usage minus "
       "inactive file pages (the docker stats figure).", "bytes"),
    _g("container_memory_rss", "Size of RSS (anonymous memory) in bytes."),
    _g("container_memory_cache", "Number of bytes of page cache memory."),
    _g("container_spec_memory_limit_bytes", "Memory limit for the container (absent without "
       "a limit).", "bytes"),
    _c("container_oom_events_total", "Count of out of memory events observed for the container "
       "(processes killed by the OOM killer in the cgroup)."),
    _c("container_fs_reads_bytes_total", "Cumulative count of bytes read.", "bytes", LD),
    _c("container_fs_writes_bytes_total", "Cumulative count of bytes written.", "bytes", LD),
    _c("container_fs_reads_total", "Cumulative count of reads completed.", "", LD),
    _c("container_fs_writes_total", "Cumulative count of writes completed.", "", LD),
    _g("container_processes", "Number of processes running inside the container (its own "
       "cgroup.procs)."),
    _g("container_threads", "Number of threads (tasks) running inside the container."),
    _g("container_threads_max", "Maximum number of threads allowed inside the container "
       "(absent without a limit)."),
    _g("autobot_containers_discovered", "Cgroups selected (explicit paths, the agent's own, "
       "found by pattern) before the max_containers cut.", "", ()),
    _g("autobot_containers_truncated", "1 when more cgroups were found (or the scan stopped) "
       "than max_containers allows, else 0.", "", ()),
)

_SIMPLE: tuple[tuple[str, str], ...] = (
    ("container_cpu_user_seconds_total", "cpu_user"),
    ("container_cpu_system_seconds_total", "cpu_system"),
    ("container_memory_usage_bytes", "memory_usage"),
    ("container_memory_working_set_bytes", "working_set"),
    ("container_memory_rss", "rss"),
    ("container_memory_cache", "cache"),
    ("container_spec_memory_limit_bytes", "memory_limit"),
    ("container_oom_events_total", "oom_kills"),
    ("container_processes", "processes"),
    ("container_threads", "pids"),
    ("container_threads_max", "pids_limit"),
)
_THROTTLE = (("container_cpu_cfs_periods_total", "periods"),
             ("container_cpu_cfs_throttled_periods_total", "throttled_periods"),
             ("container_cpu_cfs_throttled_seconds_total", "throttled_seconds"))
_IO = (("container_fs_reads_bytes_total", "rbytes"), ("container_fs_writes_bytes_total", "wbytes"),
       ("container_fs_reads_total", "rios"), ("container_fs_writes_total", "wios"))


def _paths_option(value: Any) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(p) for p in value or [] if str(p).strip()]


class ContainersCollector(Collector):
    """Containers (Docker, Podman, CRI, Kubernetes pods, systemd-machined) and systemd services.

    Options: ``cgroup_root`` (default ``<sysfs>/fs/cgroup``), ``paths`` (extra cgroup paths, a
    list or a comma-separated string), ``own_cgroup`` (default True: also the agent's own cgroup from
    ``/proc/self/cgroup``), ``max_containers`` (default 200; cgroups beyond it, in the order
    explicit paths, own cgroup, found ones by path, are left out and
    ``autobot_containers_truncated`` is 1), ``max_scan`` (directories walked, default 10000),
    ``sockets`` (Docker-compatible API sockets for names, default ``/run/docker.sock`` and
    ``/run/podman/podman.sock`` under rootfs; empty list: no API), ``api_timeout`` (seconds,
    default 1). A cgroup that vanishes mid-read is skipped. A host without cgroups yields
    nothing. CPU throttling families appear only with a quota, as in cAdvisor.
    """

    name = "containers"
    SPECS = SPECS
    default_interval: ClassVar[float | None] = 10.0

    def __init__(self, ctx: CollectorContext):
        super().__init__(ctx)
        o = self.options
        self.cgroup_root = str(o.get("cgroup_root") or ctx.sys("fs", "cgroup"))
        self.paths = _paths_option(o.get("paths"))
        self.own_cgroup = bool(o.get("own_cgroup", True))
        self.max_containers = max(0, int(o.get("max_containers", 200)))
        self.max_scan = max(1, int(o.get("max_scan", 10000)))
        sockets = o.get("sockets")
        if sockets is None:
            sockets = [ctx.root(s) for s in DEFAULT_SOCKETS]
        self.namer = ContainerNamer(_paths_option(sockets), float(o.get("api_timeout", 1.0)),
                                    clock=ctx.clock)
        self._devices: dict[tuple[int, int], str] = {}
        self._was_truncated = False
        self._cpu = CounterDelta()
        self._no_tree_logged = False

    def close(self) -> None:
        self.namer.close()
        super().close()

    def _targets(self, hier: Hierarchies) -> tuple[list[Match], int, bool]:
        """``(cgroups to read, how many were found, truncated)``."""
        chosen: dict[str, Match] = {}
        for p in self.paths:
            m = explicit(p)
            chosen.setdefault(m.path, m)
        own = cgroup_of_pid(self.ctx.procfs, "self") if self.own_cgroup else None
        if own and own != "/" and hier.exists(own):
            m = explicit(own)
            chosen.setdefault(m.path, m)
        found, complete = discover(hier.dirs(), self.max_scan)
        for m in found:
            chosen.setdefault(m.path, m)
        targets = list(chosen.values())
        truncated = not complete or len(targets) > self.max_containers
        if truncated and not self._was_truncated:
            log.warning("containers: %d cgroups found%s, reading the first %d (max_containers)",
                        len(targets), "" if complete else " before the scan limit",
                        self.max_containers)
        self._was_truncated = truncated
        return targets[: self.max_containers], len(targets), truncated

    def collect(self) -> list[MetricFamily]:
        hier = find_hierarchies(self.cgroup_root)
        if not hier.dirs():
            if not self._no_tree_logged:
                log.warning("containers: no cgroup hierarchy under %s (cgroup_root); emitting "
                            "nothing", self.cgroup_root)
                self._no_tree_logged = True
            return []
        self._no_tree_logged = False
        targets, found, truncated = self._targets(hier)
        api = self.namer.names(m.cid for m in targets if m.cid and m.kind in API_RUNTIMES)
        reader = CgroupReader(hier)
        fams = {s.name: s.family() for s in self.SPECS}
        now = self.ctx.clock.monotonic()
        for m in targets:
            st = reader.read(m.path)
            if st is None:
                continue  # vanished
            name = api.get(m.cid or "", m.name)
            labels = {"id": m.path, "name": name}
            self._emit(fams, labels, st)
            if st.cpu_usage is not None:
                rate = self._cpu.update(m.path, st.cpu_usage, now)
                if rate is not None:
                    fams["autobot_container_cpu_percent"].add(rate * 100.0, labels)
        self._cpu.retain(m.path for m in targets)
        fams["autobot_containers_discovered"].add(found)
        fams["autobot_containers_truncated"].add(1 if truncated else 0)
        return [f for f in fams.values() if f.samples]

    def _emit(self, fams: dict[str, MetricFamily], labels: dict[str, str],
              st: CgroupStats) -> None:
        if st.cpu_usage is not None:
            fams["container_cpu_usage_seconds_total"].add(st.cpu_usage, {**labels, "cpu": "total"})
        for fam, attr in _SIMPLE:
            v = getattr(st, attr)
            if v is not None:
                fams[fam].add(v, labels)
        if st.period_us is not None:
            fams["container_spec_cpu_period"].add(st.period_us, labels)
        if st.quota_us is not None and st.period_us:
            fams["container_spec_cpu_quota"].add(st.quota_us, labels)
            fams["autobot_container_cpu_limit_cores"].add(st.quota_us / st.period_us, labels)
            for fam, attr in _THROTTLE:
                v = getattr(st, attr)
                if v is not None:
                    fams[fam].add(v, labels)
        for dev in sorted(st.io):
            dl = {**labels, "device": self._device_name(dev)}
            for fam, key in _IO:
                if key in st.io[dev]:
                    fams[fam].add(st.io[dev][key], dl)

    def _device_name(self, dev: tuple[int, int]) -> str:
        """``/dev/<name>`` for block device ``(major, minor)`` from the ``/sys/dev/block/M:N``
        link (as cAdvisor names devices), else ``"M:N"``."""
        name = self._devices.get(dev)
        if name is None:
            if len(self._devices) > 4096:
                self._devices.clear()
            try:
                link = os.readlink(self.ctx.sys("dev", "block", f"{dev[0]}:{dev[1]}"))
                name = "/dev/" + os.path.basename(link)
            except OSError:
                name = f"{dev[0]}:{dev[1]}"
            self._devices[dev] = name
        return name

