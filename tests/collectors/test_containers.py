"""The containers collector against real cgroups: created here (as root) in the v2 tree and the
v1 cpu/cpuacct/memory/pids/blkio hierarchies, with real processes moved in, and compared with the
kernel's own files read just before and just after each collection."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.cgroupfs import Hierarchies, cgroup_of_pid, find_hierarchies, parse_flat_keyed
from autobot_monitor.collectors.containers import ContainersCollector
from support import wait_until

ROOT = "/sys/fs/cgroup"
BURN = "import sys\nsys.stdout.write('up\\n'); sys.stdout.flush()\nwhile True: pass\n"
ALLOC = ("import sys\nsys.stdin.readline()\nmb = int(sys.argv[1])\n"
         "block = bytearray(mb * 1024 * 1024)\n"
         "for i in range(0, len(block), 4096): block[i] = 1\n"
         "sys.stdout.write('ready\\n'); sys.stdout.flush()\nsys.stdin.readline()\n")


class LiveCgroup:
    """One cgroup made in every hierarchy under ``/sys/fs/cgroup``: ``/autobot-test-<random>``,
    or ``child`` below such a directory."""

    def __init__(self, hier: Hierarchies, child: str = ""):
        self.hier = hier
        top = f"/autobot-test-{uuid.uuid4().hex[:12]}"
        self.rel = f"{top}/{child}" if child else top
        self.dirs: dict[str, Path] = {}
        self.created: list[Path] = []
        self.procs: list[subprocess.Popen] = []
        for key, base in ([("v2", hier.v2)] if hier.v2 else []) + sorted(hier.v1.items()):
            for rel in dict.fromkeys((top, self.rel)):
                d = Path(base) / rel.lstrip("/")
                if d.exists():  # a co-mounted controller (cpu,cpuacct): the same directory
                    continue
                try:
                    d.mkdir()
                except OSError as e:
                    self.remove()
                    pytest.skip(f"cgroup hierarchy {base} not writable: {e}")
                self.created.append(d)
            self.dirs[key] = Path(base) / self.rel.lstrip("/")

    def file(self, key: str, name: str) -> Path | None:
        """The file ``name`` of this cgroup in hierarchy ``key`` (``v2`` or a v1 controller)."""
        d = self.dirs.get(key) or (self.dirs.get("v2") if key != "v2" else None)
        return d / name if d is not None and (d / name).exists() else None

    def write(self, name: str, value: str, keys: tuple[str, ...]) -> bool:
        """Write ``value`` into ``name`` in the first hierarchy of ``keys`` that has the file."""
        for k in keys:
            f = self.file(k, name)
            if f is not None:
                f.write_text(value)
                return True
        return False

    def start(self, code: str, *args: str) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        for d in {d.resolve() for d in self.dirs.values()}:
            (d / "cgroup.procs").write_text(str(p.pid))
        return p

    def remove(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)
        for d in reversed(self.created):
            wait_until(lambda d=d: _rmdir(d), 30, 0.05, f"rmdir {d}")


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # busy until the killed tasks are gone
    return True


@pytest.fixture
def hier() -> Hierarchies:
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    h = find_hierarchies(ROOT)
    if not h.dirs():
        pytest.skip(f"no cgroup hierarchy under {ROOT}")
    return h


@pytest.fixture
def cg(hier):
    made = LiveCgroup(hier)
    yield made
    made.remove()


def collect(rel: str):
    """One collection of cgroup ``rel`` only (no discovery noise matters: we filter by id)."""
    c = ContainersCollector(CollectorContext(clock=FakeClock(), options={"containers": {
        "paths": [rel], "own_cgroup": False, "sockets": []}}))
    try:
        fams = c.collect()
    finally:
        c.close()
    out: dict[str, dict[tuple, float]] = {}
    for f in fams:
        for s in f.samples:
            d = dict(s.labels)
            if d.get("id") == rel:
                extra = tuple(sorted((k, v) for k, v in d.items() if k not in ("id", "name")))
                out.setdefault(f.name, {})[extra] = s.value
    return out


def one(figs, name):
    got = figs.get(name)
    assert got is not None and len(got) == 1, f"{name}: {got}"
    return next(iter(got.values()))


def kernel_cpu(cg: LiveCgroup) -> dict[str, float]:
    """Usage seconds and throttling from the kernel files the collector reads."""
    out: dict[str, float] = {}
    v2 = parse_flat_keyed(cg.file("v2", "cpu.stat").read_text()) if cg.file("v2", "cpu.stat") else {}
    if "usage_usec" in v2:
        out["usage"] = v2["usage_usec"] / 1e6
    else:
        out["usage"] = int(cg.file("cpuacct", "cpuacct.usage").read_text()) / 1e9
    if "nr_periods" in v2:
        out.update(periods=v2["nr_periods"], throttled=v2["nr_throttled"],
                   throttled_s=v2["throttled_usec"] / 1e6)
    else:
        v1 = parse_flat_keyed(cg.file("cpu", "cpu.stat").read_text())
        out.update(periods=v1["nr_periods"], throttled=v1["nr_throttled"],
                   throttled_s=v1["throttled_time"] / 1e9)
    return out


def test_cpu_burner_usage_throttling_and_quota_match_the_kernel(cg):
    if not (cg.write("cpu.max", "50000 100000", ("v2",))
            or cg.write("cpu.cfs_quota_us", "50000", ("cpu",))):
        pytest.skip("no CPU quota file (cpu controller not available)")
    cg.write("cpu.cfs_period_us", "100000", ("cpu",))
    p = cg.start(BURN)
    assert p.stdout.readline() == "up\n"
    wait_until(lambda: kernel_cpu(cg)["throttled"] >= 3 and kernel_cpu(cg)["usage"] > 0.2,
               60, 0.05, "the burner to be throttled")
    before = kernel_cpu(cg)
    figs = collect(cg.rel)
    after = kernel_cpu(cg)
    usage = one(figs, "container_cpu_usage_seconds_total")
    assert figs["container_cpu_usage_seconds_total"].keys() == {(("cpu", "total"),)}
    assert before["usage"] <= usage <= after["usage"]
    for name, key in (("container_cpu_cfs_periods_total", "periods"),
                      ("container_cpu_cfs_throttled_periods_total", "throttled"),
                      ("container_cpu_cfs_throttled_seconds_total", "throttled_s")):
        assert before[key] <= one(figs, name) <= after[key], name
    assert one(figs, "container_spec_cpu_quota") == 50000
    assert one(figs, "container_spec_cpu_period") == 100000
    assert one(figs, "autobot_container_cpu_limit_cores") == 0.5
    user, system = one(figs, "container_cpu_user_seconds_total"), one(figs, "container_cpu_system_seconds_total")
    assert user > 0 and system >= 0
    again = collect(cg.rel)
    assert one(again, "container_cpu_usage_seconds_total") >= usage
    assert one(again, "container_cpu_cfs_periods_total") >= one(figs, "container_cpu_cfs_periods_total")


def test_no_limits_means_absent_limits(cg):
    p = cg.start(ALLOC, "1")
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline() == "ready\n"
    figs = collect(cg.rel)
    assert "container_cpu_usage_seconds_total" in figs
    for name in ("container_spec_cpu_quota", "autobot_container_cpu_limit_cores",
                 "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_seconds_total",
                 "container_spec_memory_limit_bytes", "container_threads_max"):
        assert name not in figs, name
    if cg.file("cpu", "cpu.cfs_period_us") or cg.file("v2", "cpu.max"):
        assert one(figs, "container_spec_cpu_period") == 100000
    if cg.file("pids", "pids.current"):
        assert one(figs, "container_threads") == int(cg.file("pids", "pids.current").read_text())


def kernel_memory(cg: LiveCgroup) -> tuple[int, int]:
    """(usage, usage minus inactive file) from the kernel files."""
    cur = cg.file("v2", "memory.current")
    if cur is not None:
        stat = parse_flat_keyed(cg.file("v2", "memory.stat").read_text())
        usage, inactive = int(cur.read_text()), stat["inactive_file"]
    else:
        stat = parse_flat_keyed(cg.file("memory", "memory.stat").read_text())
        usage = int(cg.file("memory", "memory.usage_in_bytes").read_text())
        inactive = stat["total_inactive_file"]
    return usage, max(0, usage - inactive)


def test_memory_allocator_usage_working_set_limits_and_pids(cg):
    if not (cg.write("memory.max", str(256 << 20), ("v2",))
            or cg.write("memory.limit_in_bytes", str(256 << 20), ("memory",))):
        pytest.skip("no memory controller")
    has_pids = cg.write("pids.max", "64", ("v2", "pids"))
    p = cg.start(ALLOC, "48")
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline() == "ready\n"
    before = kernel_memory(cg)
    figs = collect(cg.rel)
    after = kernel_memory(cg)
    slack = 1 << 20  # the interpreter's own pages may come and go between two reads
    for name, i in (("container_memory_usage_bytes", 0), ("container_memory_working_set_bytes", 1)):
        lo, hi = min(before[i], after[i]) - slack, max(before[i], after[i]) + slack
        assert lo <= one(figs, name) <= hi, name
    assert one(figs, "container_memory_usage_bytes") >= 48 << 20
    assert one(figs, "container_memory_rss") >= 48 << 20
    assert one(figs, "container_spec_memory_limit_bytes") == 256 << 20
    assert one(figs, "container_oom_events_total") == 0
    assert one(figs, "container_processes") == 1
    if has_pids:
        assert one(figs, "container_threads_max") == 64
        assert one(figs, "container_threads") >= 1


def kernel_oom_kills(cg: LiveCgroup) -> int:
    f = cg.file("v2", "memory.events") or cg.file("memory", "memory.oom_control")
    return parse_flat_keyed(f.read_text())["oom_kill"]


def test_oom_kill_is_counted(cg):
    if not (cg.write("memory.max", str(32 << 20), ("v2",))
            or cg.write("memory.limit_in_bytes", str(32 << 20), ("memory",))):
        pytest.skip("no memory controller")
    cg.write("memory.swap.max", "0", ("v2",))
    cg.write("memory.memsw.limit_in_bytes", str(32 << 20), ("memory",))
    p = cg.start(ALLOC, "256")
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.wait(timeout=60) == -9  # SIGKILL from the OOM killer
    figs = collect(cg.rel)
    assert one(figs, "container_oom_events_total") >= 1
    assert one(figs, "container_oom_events_total") == kernel_oom_kills(cg)
    assert one(figs, "container_spec_memory_limit_bytes") == 32 << 20


def kernel_written(cg: LiveCgroup) -> dict[str, int]:
    """Bytes written per ``MAJ:MIN`` from io.stat or the v1 blkio throttle file."""
    f = cg.file("v2", "io.stat")
    out: dict[str, int] = {}
    if f is not None:
        for line in f.read_text().splitlines():
            kv = dict(x.split("=") for x in line.split()[1:])
            out[line.split()[0]] = int(kv.get("wbytes", 0))
        return out
    f = cg.file("blkio", "blkio.throttle.io_service_bytes_recursive")
    for line in f.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "Write":
            out[parts[0]] = int(parts[2])
    return out


def _disk_of(path: Path) -> str:
    """``MAJ:MIN`` of the whole disk holding ``path`` (a partition's parent)."""
    dev = os.stat(path).st_dev
    majmin = f"{os.major(dev)}:{os.minor(dev)}"
    sysdir = Path("/sys/dev/block", majmin).resolve()
    if (sysdir / "partition").exists():
        return (sysdir.parent / "dev").read_text().strip()
    return majmin


def test_direct_writes_are_counted_per_device(cg, tmp_path):
    if cg.file("v2", "io.stat") is None and cg.file("blkio", "blkio.throttle.io_service_bytes") is None:
        pytest.skip("no io/blkio controller")
    code = ("import subprocess, sys\nsys.stdin.readline()\nsubprocess.run(['dd', 'if=/dev/zero', "
            "'of=' + sys.argv[1], 'bs=1M', 'count=4', 'oflag=direct'], check=True, "
            "capture_output=True)\nsys.stdout.write('ready\\n'); sys.stdout.flush()\n"
            "sys.stdin.readline()\n")
    if cg.file("v2", "io.stat") is None:
        # v1 counts bios only on queues with a throttle rule: set one nothing reaches (1 TiB/s)
        cg.write("blkio.throttle.write_bps_device", f"{_disk_of(tmp_path)} {1 << 40}", ("blkio",))
    p = cg.start(code, str(tmp_path / "f"))
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline() == "ready\n"
    written = wait_until(lambda: {k: v for k, v in kernel_written(cg).items() if v >= 4 << 20},
                         60, 0.05, "the direct writes to show in the cgroup's I/O figures")
    figs = collect(cg.rel)
    for majmin, nbytes in written.items():
        link = Path("/sys/dev/block", majmin)
        device = "/dev/" + os.readlink(link).rsplit("/", 1)[-1] if link.exists() else majmin
        assert figs["container_fs_writes_bytes_total"][(("device", device),)] == nbytes
        assert figs["container_fs_writes_total"][(("device", device),)] >= 1


def test_cgroup_of_a_real_pid_is_where_it_was_moved(cg):
    p = cg.start(BURN)
    assert p.stdout.readline() == "up\n"
    assert cgroup_of_pid("/proc", p.pid) == cg.rel
    assert cgroup_of_pid("/proc", 2**22 + 7) is None  # no such process


def test_a_cgroup_removed_between_runs_disappears_without_error(hier):
    made = LiveCgroup(hier)
    assert "container_cpu_usage_seconds_total" in collect(made.rel)
    made.remove()
    assert collect(made.rel) == {}


def test_a_real_docker_like_scope_is_discovered_and_named_from_its_path(hier):
    cid = uuid.uuid4().hex * 2
    made = LiveCgroup(hier, f"docker-{cid}.scope")
    try:
        p = made.start(BURN)
        assert p.stdout.readline() == "up\n"
        c = ContainersCollector(CollectorContext(clock=FakeClock(), options={"containers": {
            "own_cgroup": False, "sockets": []}}))
        fams = c.collect()
        c.close()
        found = {dict(s.labels)["id"]: dict(s.labels)["name"] for f in fams
                 if f.name == "container_cpu_usage_seconds_total" for s in f.samples}
        assert found[made.rel] == cid[:12]
        assert made.rel.rsplit("/", 1)[0] not in found  # the test's parent directory is no container
    finally:
        made.remove()
