"""Helpers to build fake procfs/sysfs trees under ``tmp_path`` and read collector output.

Tests reach everything through the ``host``/``recorded`` fixtures (a :class:`FakeHost`, whose
static methods give kernel-format text and sample lookups), never by importing this module, so
the suite does not depend on how pytest names conftest modules.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.model import MetricFamily

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "host"


class FakeHost:
    """A fake ``/proc``, ``/sys`` and ``/`` under one directory, with a :class:`FakeClock`."""

    def __init__(self, base: Path, clock: FakeClock | None = None):
        self.base = base
        self.procfs = base / "proc"
        self.sysfs = base / "sys"
        self.rootfs = base / "root"
        for d in (self.procfs, self.sysfs, self.rootfs):
            d.mkdir(parents=True, exist_ok=True)
        self.clock = clock or FakeClock()

    def ctx(self, options: Mapping[str, Mapping] | None = None) -> CollectorContext:
        return CollectorContext(procfs=str(self.procfs), sysfs=str(self.sysfs),
                                rootfs=str(self.rootfs), clock=self.clock,
                                options={k: dict(v) for k, v in (options or {}).items()})

    def proc(self, rel: str, text: str) -> Path:
        return _write(self.procfs / rel, text)

    def sys(self, rel: str, text: str) -> Path:
        return _write(self.sysfs / rel, text)

    def remove_proc(self, rel: str) -> None:
        p = self.procfs / rel
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- text in kernel formats -------------------------------------------------------------------

def stat_text(cpus: Mapping[str, Sequence[int]], *, extra: str = "") -> str:
    """``/proc/stat`` with a ``cpu`` line per entry (key "all" -> aggregate line ``cpu``)."""
    lines = []
    for label, values in cpus.items():
        head = "cpu " if label == "all" else f"cpu{label}"
        lines.append(" ".join([head, *map(str, values)]))
    lines += ["intr 1000 1 2 3", "ctxt 5000", "btime 1700000000", "processes 300",
              "procs_running 2", "procs_blocked 0"]
    return "\n".join(lines) + "\n" + extra


NETDEV_HEADER = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop "
    "fifo colls carrier compressed\n"
)


def netdev_text(devices: Mapping[str, tuple[int, int]], *, extra: str = "") -> str:
    """``/proc/net/dev`` with (rx_bytes, tx_bytes) per device; packets are bytes // 100."""
    lines = []
    for name, (rx, tx) in devices.items():
        lines.append(f"{name:>6}: {rx} {rx // 100} 0 0 0 0 0 0 {tx} {tx // 100} 0 0 0 0 0 0")
    return NETDEV_HEADER + "\n".join(lines) + "\n" + extra


def diskstats_line(device: str, *, sectors_read: int = 0, sectors_written: int = 0,
                   io_ms: int = 0, reads: int = 0, writes: int = 0, major: int = 8,
                   minor: int = 0) -> str:
    return (f"{major:4d} {minor:7d} {device} {reads} 0 {sectors_read} 0 {writes} 0 "
            f"{sectors_written} 0 0 {io_ms} {io_ms} 0 0 0 0 0 0")


def pid_stat(pid: int, comm: str, *, state: str = "S", utime: int = 0, stime: int = 0,
             threads: int | str = 1, starttime: int = 100, rss: int = 0) -> str:
    """A ``/proc/[pid]/stat`` line with the given fields (the rest zeros)."""
    return (f"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 "
            f"{threads} 0 {starttime} 1000000 {rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 "
            "17 0 0 0 0 0 0\n")


# --- reading output ---------------------------------------------------------------------------

def values(fams: Iterable[MetricFamily], metric: str, /) -> dict[tuple[tuple[str, str], ...], float]:
    """``{labels: value}`` of every sample of family ``metric``."""
    return {s.labels: s.value for f in fams if f.name == metric for s in f.samples}


def value(fams: Iterable[MetricFamily], metric: str, /, **labels: str) -> float | None:
    """The value of the one sample of ``metric`` with exactly ``labels``, or ``None``."""
    want = tuple(sorted(labels.items()))
    return values(fams, metric).get(want)


def names(fams: Iterable[MetricFamily]) -> set[str]:
    return {f.name for f in fams}


for _fn in (stat_text, netdev_text, diskstats_line, pid_stat, values, value, names):
    setattr(FakeHost, _fn.__name__, staticmethod(_fn))
FakeHost.NETDEV_HEADER = NETDEV_HEADER


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path)


@pytest.fixture
def recorded(tmp_path: Path) -> FakeHost:
    """A copy of the recorded tree in ``tests/fixtures/host`` (safe to modify)."""
    base = tmp_path / "recorded"
    shutil.copytree(FIXTURES, base)
    return FakeHost(base)
