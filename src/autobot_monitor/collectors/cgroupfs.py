"""Reading cgroup v1 and v2 trees: the hierarchies under a cgroup root, one cgroup's figures, and
the cgroup of a pid from ``/proc/<pid>/cgroup``.

A cgroup is named by its path relative to a hierarchy root (``/system.slice/nginx.service``,
``/docker/<id>``), the same path in every hierarchy it exists in. Each figure is read from the
unified (v2) tree when that tree has the file (its controller is enabled there) and from the v1
controller hierarchy otherwise, so pure v2, pure v1 and hybrid hosts all work. Every reader
returns ``None`` (or leaves a field ``None``) for what it cannot read: a missing controller, a
cgroup that vanished, a garbled file. Nothing here raises for odd input. Reads are capped at
:data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .cpu import USER_HZ

MAX_FILE_BYTES = 256 * 1024
MAX_PROCS_BYTES = 4 * 1024 * 1024  # cgroup.procs: about 500 000 pids
#: v1 ``memory.limit_in_bytes`` without a limit is LONG_MAX rounded down to a page
#: (9223372036854771712 with 4 KiB pages); anything from 2**62 bytes (4 EiB) up means "no limit".
V1_UNLIMITED = 2**62
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "blkio")


def read_capped(path: str, limit: int = MAX_FILE_BYTES) -> str | None:
    """At most ``limit`` bytes of ``path`` as text, or ``None`` if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        v = int(text.strip())
    except ValueError:
        return None
    return v


def parse_flat_keyed(text: str | None) -> dict[str, int]:
    """``key value`` lines (``cpu.stat``, ``memory.stat``, ``memory.events``, ``memory.oom_control``)
    -> ``{key: value}``; lines that do not parse as a name and a non-negative integer are skipped."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def parse_limit(text: str | None) -> int | None:
    """A v2 limit file (``memory.max``, ``pids.max``): the number, or ``None`` for ``max``
    (no limit) and for anything unreadable or negative."""
    v = _int(text)
    return v if v is not None and v >= 0 else None


def parse_cpu_max(text: str | None) -> tuple[int | None, int | None]:
    """v2 ``cpu.max`` (``"$MAX $PERIOD"`` in microseconds) -> ``(quota_us, period_us)``; quota
    is ``None`` for ``max`` (no limit); both ``None`` when unreadable or garbled."""
    parts = (text or "").split()
    if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) <= 0:
        return None, None
    period = int(parts[1])
    if parts[0] == "max":
        return None, period
    return (int(parts[0]), period) if parts[0].isdigit() and int(parts[0]) > 0 else (None, None)


IoStats = dict[tuple[int, int], dict[str, int]]
"""Per device ``(major, minor)``: ``{"rbytes", "wbytes", "rios", "wios"}`` (cumulative)."""


def _device(token: str) -> tuple[int, int] | None:
    major, sep, minor = token.partition(":")
    if not sep or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def parse_io_stat(text: str | None) -> IoStats:
    """v2 ``io.stat`` lines ``MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N`` ->
    :data:`IoStats` (keys the line lacks are left out; garbled lines skipped)."""
    out: IoStats = {}
    for line in (text or "").splitlines():
        parts = line.split()
        dev = _device(parts[0]) if parts else None
        if dev is None:
            continue
        stats: dict[str, int] = {}
        for kv in parts[1:]:
            k, _, v = kv.partition("=")
            if k in ("rbytes", "wbytes", "rios", "wios") and v.isdigit():
                stats[k] = int(v)
        if stats:
            out[dev] = stats
    return out


def parse_blkio(text: str | None, read_key: str, write_key: str) -> IoStats:
    """v1 ``blkio.throttle.io_service_bytes`` / ``io_serviced`` lines ``MAJ:MIN Read N`` (also
    Write, Sync, Async, Discard, Total; a last ``Total N`` line) -> :data:`IoStats` with the Read
    and Write figures under ``read_key``/``write_key``."""
    out: IoStats = {}
    for line in (text or "").splitlines():
        parts = line.split()
        dev = _device(parts[0]) if len(parts) == 3 else None
        if dev is None or not parts[2].isdigit():
            continue
        key = {"Read": read_key, "Write": write_key}.get(parts[1])
        if key:
            out.setdefault(dev, {})[key] = int(parts[2])
    return out


@dataclass
class Hierarchies:
    """Where the cgroup trees are: ``v2`` (the unified tree's directory or ``None``) and ``v1``
    (controller name -> its hierarchy's directory; a controller mounted together with others,
    ``cpu,cpuacct``, is found through its own name, usually a symlink)."""

    v2: str | None = None
    v1: dict[str, str] = field(default_factory=dict)

    def dirs(self) -> list[str]:
        """Each distinct hierarchy directory once (v2 first)."""
        out: list[str] = []
        seen: set[str] = set()
        for d in ([self.v2] if self.v2 else []) + [self.v1[c] for c in sorted(self.v1)]:
            real = os.path.realpath(d)
            if real not in seen:
                seen.add(real)
                out.append(d)
        return out

    def exists(self, path: str) -> bool:
        """True if cgroup ``path`` exists in some hierarchy."""
        return any(os.path.isdir(_join(d, path)) for d in self.dirs())


def find_hierarchies(root: str) -> Hierarchies:
    """The hierarchies under ``root`` (normally ``/sys/fs/cgroup``): pure v2 when ``root`` itself
    holds ``cgroup.controllers``; otherwise v1 controller directories ``root/<controller>`` and a
    hybrid host's unified tree ``root/unified``."""
    if os.path.isfile(os.path.join(root, "cgroup.controllers")):
        return Hierarchies(v2=root)
    h = Hierarchies()
    unified = os.path.join(root, "unified")
    if os.path.isfile(os.path.join(unified, "cgroup.controllers")):
        h.v2 = unified
    for c in V1_CONTROLLERS:
        d = os.path.join(root, c)
        if os.path.isfile(os.path.join(d, "cgroup.procs")):
            h.v1[c] = d
    return h


def _join(base: str, path: str) -> str:
    return os.path.join(base, path.strip("/")) if path.strip("/") else base


@dataclass
class CgroupStats:
    """One cgroup's figures, ``None`` where unreadable or (limits) where there is no limit.
    CPU times in seconds, memory and I/O in bytes, quota/period in microseconds."""

    cpu_usage: float | None = None
    cpu_user: float | None = None
    cpu_system: float | None = None
    periods: int | None = None
    throttled_periods: int | None = None
    throttled_seconds: float | None = None
    quota_us: int | None = None
    period_us: int | None = None
    memory_usage: int | None = None
    working_set: int | None = None
    rss: int | None = None
    cache: int | None = None
    memory_limit: int | None = None
    oom_kills: int | None = None
    io: IoStats = field(default_factory=dict)
    pids: int | None = None
    pids_limit: int | None = None
    processes: int | None = None


class CgroupReader:
    """Reads :class:`CgroupStats` for cgroup paths from :class:`Hierarchies`."""

    def __init__(self, hier: Hierarchies):
        self.hier = hier

    def _v2(self, path: str, name: str) -> str | None:
        if self.hier.v2 is None:
            return None
        return read_capped(os.path.join(_join(self.hier.v2, path), name))

    def _v1(self, controller: str, path: str, name: str) -> str | None:
        d = self.hier.v1.get(controller)
        return None if d is None else read_capped(os.path.join(_join(d, path), name))

    def read(self, path: str) -> CgroupStats | None:
        """The figures of cgroup ``path``, or ``None`` when it exists in no hierarchy (vanished)."""
        st = CgroupStats()
        self._cpu(path, st)
        self._memory(path, st)
        self._io(path, st)
        self._pids(path, st)
        st.processes = self._processes(path)
        return st if self.hier.exists(path) else None

    def _cpu(self, path: str, st: CgroupStats) -> None:
        v2 = parse_flat_keyed(self._v2(path, "cpu.stat"))
        if "usage_usec" in v2:
            st.cpu_usage = v2["usage_usec"] / 1e6
            st.cpu_user = v2["user_usec"] / 1e6 if "user_usec" in v2 else None
            st.cpu_system = v2["system_usec"] / 1e6 if "system_usec" in v2 else None
        else:
            ns = _int(self._v1("cpuacct", path, "cpuacct.usage"))
            st.cpu_usage = ns / 1e9 if ns is not None and ns >= 0 else None
            ticks = parse_flat_keyed(self._v1("cpuacct", path, "cpuacct.stat"))
            st.cpu_user = ticks["user"] / USER_HZ if "user" in ticks else None
            st.cpu_system = ticks["system"] / USER_HZ if "system" in ticks else None
        if "nr_periods" in v2:
            st.periods, st.throttled_periods = v2["nr_periods"], v2.get("nr_throttled")
            usec = v2.get("throttled_usec")
            st.throttled_seconds = usec / 1e6 if usec is not None else None
            st.quota_us, st.period_us = parse_cpu_max(self._v2(path, "cpu.max"))
            return
        v1 = parse_flat_keyed(self._v1("cpu", path, "cpu.stat"))
        if "nr_periods" in v1:
            st.periods, st.throttled_periods = v1["nr_periods"], v1.get("nr_throttled")
            ns = v1.get("throttled_time")
            st.throttled_seconds = ns / 1e9 if ns is not None else None
        period = _int(self._v1("cpu", path, "cpu.cfs_period_us"))
        quota = _int(self._v1("cpu", path, "cpu.cfs_quota_us"))
        st.period_us = period if period is not None and period > 0 else None
        st.quota_us = quota if quota is not None and quota > 0 and st.period_us else None

    def _memory(self, path: str, st: CgroupStats) -> None:
        current = _int(self._v2(path, "memory.current"))
        if current is not None:
            stat = parse_flat_keyed(self._v2(path, "memory.stat"))
            st.memory_usage, inactive = current, stat.get("inactive_file")
            st.rss, st.cache = stat.get("anon"), stat.get("file")
            st.memory_limit = parse_limit(self._v2(path, "memory.max"))
            events = parse_flat_keyed(self._v2(path, "memory.events"))
            st.oom_kills = events.get("oom_kill")
        else:
            usage = _int(self._v1("memory", path, "memory.usage_in_bytes"))
            if usage is None or usage < 0:
                return
            stat = parse_flat_keyed(self._v1("memory", path, "memory.stat"))
            pre = "total_" if "total_inactive_file" in stat else ""
            st.memory_usage, inactive = usage, stat.get(pre + "inactive_file")
            st.rss, st.cache = stat.get(pre + "rss"), stat.get(pre + "cache")
            limit = parse_limit(self._v1("memory", path, "memory.limit_in_bytes"))
            st.memory_limit = limit if limit is not None and limit < V1_UNLIMITED else None
            oom = parse_flat_keyed(self._v1("memory", path, "memory.oom_control"))
            st.oom_kills = oom.get("oom_kill")
        # cAdvisor's working set: usage minus inactive file pages, floored at 0
        if inactive is not None:
            st.working_set = max(0, st.memory_usage - inactive)

    def _io(self, path: str, st: CgroupStats) -> None:
        text = self._v2(path, "io.stat")
        if text is not None:
            st.io = parse_io_stat(text)
            return
        for suffix in ("_recursive", ""):
            nbytes = self._v1("blkio", path, "blkio.throttle.io_service_bytes" + suffix)
            if nbytes is None:
                continue
            st.io = parse_blkio(nbytes, "rbytes", "wbytes")
            ops = parse_blkio(self._v1("blkio", path, "blkio.throttle.io_serviced" + suffix),
                              "rios", "wios")
            for dev, figures in ops.items():
                st.io.setdefault(dev, {}).update(figures)
            return

    def _pids(self, path: str, st: CgroupStats) -> None:
        current = _int(self._v2(path, "pids.current"))
        if current is not None:
            st.pids, st.pids_limit = current, parse_limit(self._v2(path, "pids.max"))
            return
        current = _int(self._v1("pids", path, "pids.current"))
        if current is not None:
            st.pids, st.pids_limit = current, parse_limit(self._v1("pids", path, "pids.max"))


    def _processes(self, path: str) -> int | None:
        """Lines of the cgroup's own ``cgroup.procs`` (its processes, not its descendants', as
        cAdvisor counts them); ``None`` when unreadable or over :data:`MAX_PROCS_BYTES`."""
        bases = ([self.hier.v2] if self.hier.v2 else []) + [
            self.hier.v1[c] for c in V1_CONTROLLERS if c in self.hier.v1]
        for base in bases:
            text = read_capped(os.path.join(_join(base, path), "cgroup.procs"), MAX_PROCS_BYTES + 1)
            if text is not None:
                if len(text) > MAX_PROCS_BYTES:
                    return None
                return sum(1 for line in text.splitlines() if line.strip().isdigit())
        return None


def parse_proc_cgroup(text: str | None) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` (``ID:CONTROLLERS:PATH`` lines) -> ``{controller: path}``; the v2
    line (``0::/path``) is under key ``""``; a named hierarchy ``name=systemd`` under its name."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        for c in parts[1].split(",") if parts[1] else [""]:
            out[c] = parts[2]
    return out


def cgroup_of_pid(procfs: str, pid: int | str) -> str | None:
    """The cgroup path of process ``pid`` read from ``<procfs>/<pid>/cgroup``: its v2 path when
    that is below the root, else its first non-root path among the v1 controllers (memory, cpu,
    cpuacct, pids, blkio order), else ``"/"``; ``None`` when the file cannot be read (no such
    process)."""
    text = read_capped(os.path.join(procfs, str(pid), "cgroup"))
    if text is None:
        return None
    paths = parse_proc_cgroup(text)
    for key in ("", "memory", "cpu", "cpuacct", "pids", "blkio"):
        p = paths.get(key)
        if p and p != "/":
            return p
    return "/" if paths else None
