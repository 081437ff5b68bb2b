"""Kept-open kernel files (collectors/filecache.py): re-read with pread at offset 0 they give
the kernel's current text; a removed sysfs device reads as gone and a re-created one as new;
nothing outside a mounted procfs/sysfs is kept open (a replaced regular file is read anew);
the number of kept descriptors is bounded."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from autobot_monitor.collectors import filecache
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.filecache import FileCache
from autobot_monitor.collectors.netclass import NetclassCollector


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def veth():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to create a veth pair")
    name = f"ab{uuid.uuid4().hex[:8]}"
    r = _ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
    if r.returncode != 0:
        pytest.skip(f"cannot create a veth pair here: {r.stderr.strip()}")
    yield name
    _ip("link", "del", name)


def test_a_kept_sysfs_file_follows_the_kernel_and_a_removed_device(veth):
    cache = FileCache("/proc", "/sys")
    mtu = f"/sys/class/net/{veth}/mtu"
    assert cache.read(mtu) == "1500\n" and len(cache) == 1  # kept open
    assert _ip("link", "set", veth, "mtu", "1400").returncode == 0
    assert cache.read(mtu) == "1400\n"  # the same descriptor, the kernel's new text
    _ip("link", "del", veth)
    assert cache.read(mtu) is None and len(cache) == 0  # ENODEV: dropped, not served stale
    assert _ip("link", "add", veth, "type", "veth", "peer", "name", veth + "p").returncode == 0
    _ip("link", "set", veth, "mtu", "1300")
    assert cache.read(mtu) == "1300\n"  # the new device under the old name
    cache.close()
    assert len(cache) == 0


def test_an_attribute_without_a_value_now_reads_none_and_its_value_once_it_has_one(veth):
    cache = FileCache("/proc", "/sys")
    carrier = f"/sys/class/net/{veth}/carrier"
    assert cache.read(carrier) is None  # a down link: EINVAL, not "gone"
    assert len(cache) == 1  # kept open: one pread a cycle while the link is down
    assert _ip("link", "set", veth, "up").returncode == 0
    assert _ip("link", "set", veth + "p", "up").returncode == 0
    assert cache.read(carrier) == "1\n"  # the same descriptor reads the value once there is one
    cache.close()


def test_procfs_files_are_kept_and_read_whole():
    cache = FileCache("/proc", "/sys")
    stat = cache.read("/proc/stat")
    again = cache.read("/proc/stat")
    assert stat is not None and again is not None and len(cache) == 1
    assert stat.startswith("cpu ") and again.startswith("cpu ")
    assert stat.count("\n") == again.count("\n")  # the whole file both times, not the tail
    cache.close()


def test_files_outside_a_mount_are_read_anew(tmp_path):
    f = tmp_path / "meminfo"
    f.write_text("old\n")
    cache = FileCache(str(tmp_path))  # a folder, not a mount point: nothing kept
    assert cache.read(str(f)) == "old\n" and len(cache) == 0
    tmp = tmp_path / "meminfo.new"
    tmp.write_text("new\n")
    tmp.replace(f)  # replaced by rename, as fixture writers and package upgrades do
    assert cache.read(str(f)) == "new\n"
    assert cache.read(str(tmp_path / "missing")) is None
    assert cache.read_bounded(str(f), 2) is None  # longer than the bound
    assert cache.read_int(str(f)) is None  # no number


def test_kept_descriptors_are_bounded_per_process(monkeypatch):
    monkeypatch.setattr(filecache, "MAX_KEPT", filecache._kept + 2)
    cache = FileCache("/proc")
    for name in ("stat", "meminfo", "loadavg", "uptime"):
        assert cache.read(f"/proc/{name}")
    assert len(cache) == 2  # the rest were read whole and closed
    cache.close()


def test_netclass_holds_no_descriptor_for_a_vanished_interface(veth):
    c = NetclassCollector(CollectorContext())
    try:
        names = {s.label_dict["device"] for f in c.collect() for s in f.samples}
        assert veth in names
        _ip("link", "del", veth)
        names = {s.label_dict["device"] for f in c.collect() for s in f.samples}
        assert veth not in names
        assert not [p for p in c.files._fds if f"/{veth}/" in p]
    finally:
        c.close()
