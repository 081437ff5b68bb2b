"""filesystem collector: /proc/mounts filtering and statvfs figures."""

from __future__ import annotations

import os
import threading

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.filesystem import FilesystemCollector, parse_mounts, unescape
from autobot_monitor.errors import CollectorError


def sv(blocks=1000, bfree=200, bavail=100, files=500, ffree=300, frsize=4096):
    return os.statvfs_result((frsize, frsize, blocks, bfree, bavail, files, ffree, ffree, 0, 255))


class FakeStatvfs:
    """statvfs by mount point (as seen under the fake root); missing -> OSError."""

    def __init__(self, rootfs, table):
        self.rootfs = str(rootfs)
        self.table = table
        self.calls: list[str] = []

    def __call__(self, path):
        rel = os.path.relpath(path, self.rootfs)
        mp = "/" if rel == "." else "/" + rel
        self.calls.append(mp)
        result = self.table.get(mp)
        if result is None:
            raise OSError(5, "Input/output error", path)
        if callable(result):
            return result()
        return result


def mountpoints(host, fams, name="node_filesystem_device_error"):
    return {dict(k)["mountpoint"] for k in host.values(fams, name)}


def test_recorded_mounts_are_filtered_to_real_filesystems(recorded):
    fake = FakeStatvfs(recorded.rootfs, {"/": sv(), "/boot/efi": sv(), "/mnt/My Backups": sv()})
    fams = FilesystemCollector(recorded.ctx(), statvfs=fake).collect()
    assert mountpoints(recorded, fams) == {"/", "/boot/efi", "/mnt/My Backups"}
    labels = {"device": "/dev/mapper/vg-root", "fstype": "ext4", "mountpoint": "/"}
    assert recorded.value(fams, "node_filesystem_size_bytes", **labels) == 1000 * 4096
    assert recorded.value(fams, "node_filesystem_free_bytes", **labels) == 200 * 4096
    assert recorded.value(fams, "node_filesystem_avail_bytes", **labels) == 100 * 4096
    assert recorded.value(fams, "node_filesystem_files", **labels) == 500
    assert recorded.value(fams, "node_filesystem_files_free", **labels) == 300
    assert recorded.value(fams, "node_filesystem_readonly", **labels) == 0
    assert recorded.value(fams, "node_filesystem_device_error", **labels) == 0
    # df: used = 800 blocks, used + avail = 900
    assert recorded.value(fams, "autobot_filesystem_used_percent", **labels) == pytest.approx(800 / 9)
    backups = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/mnt/My Backups"}
    assert recorded.value(fams, "node_filesystem_readonly", **backups) == 1
    assert "/var/lib/bind/alias" not in fake.calls  # bind mount of vg-root: shortest kept


def test_escape_sequences_decoded():
    assert unescape(r"/mnt/My\040Backups\011x\134y") == "/mnt/My Backups\tx\\y"
    [m] = parse_mounts(r"/dev/sdb1 /media/a\040b vfat rw 0 0")
    assert m.mountpoint == "/media/a b"


def test_readonly_squashfs_with_zero_free_is_skipped_not_full(host):
    host.proc("mounts", "/dev/sdb1 / ext4 rw 0 0\n"
              "/dev/sdc1 /media/image squashfs ro,relatime 0 0\n"
              "/dev/loop3 /opt/app.img ext4 ro 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv(), "/media/image": sv(bfree=0, bavail=0),
                                     "/opt/app.img": sv(bfree=0, bavail=0)})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    assert mountpoints(host, fams) == {"/"}
    assert all(v < 100 for v in host.values(fams, "autobot_filesystem_used_percent").values())
    assert fake.calls == ["/"]


def test_overlay_at_root_is_kept_elsewhere_skipped(host):
    host.proc("mounts", "overlay / overlay rw,lowerdir=/l,upperdir=/u,workdir=/w 0 0\n"
              "overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0\n"
              "overlay /srv/merged overlay rw 0 0\n"
              "tmpfs /dev/shm tmpfs rw 0 0\n/dev/vda1 /etc/hosts ext4 rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv(), "/etc/hosts": sv()})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    assert mountpoints(host, fams) == {"/", "/etc/hosts"}
    assert host.value(fams, "node_filesystem_device_error", device="overlay", fstype="overlay",
                      mountpoint="/") == 0


def test_statvfs_failure_marks_device_error_others_reported(host):
    host.proc("mounts", "/dev/sda1 / ext4 rw 0 0\nserver:/export /mnt/nfs nfs4 rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv()})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    nfs = {"device": "server:/export", "fstype": "nfs4", "mountpoint": "/mnt/nfs"}
    assert host.value(fams, "node_filesystem_device_error", **nfs) == 1
    assert host.value(fams, "node_filesystem_size_bytes", **nfs) is None
    assert host.value(fams, "node_filesystem_size_bytes", device="/dev/sda1", fstype="ext4",
                      mountpoint="/") == 1000 * 4096


def test_hanging_statvfs_times_out_and_is_not_called_again_until_it_returns(host):
    host.proc("mounts", "/dev/sda1 / ext4 rw 0 0\nserver:/x /mnt/nfs nfs rw 0 0\n")
    release = threading.Event()

    def hang():
        release.wait(10)
        return sv()

    fake = FakeStatvfs(host.rootfs, {"/": sv(), "/mnt/nfs": hang})
    c = FilesystemCollector(host.ctx({"filesystem": {"statvfs_timeout": 0.2}}), statvfs=fake)
    nfs = {"device": "server:/x", "fstype": "nfs", "mountpoint": "/mnt/nfs"}
    try:
        fams = c.collect()
        assert host.value(fams, "node_filesystem_device_error", **nfs) == 1
        assert host.value(fams, "node_filesystem_device_error", device="/dev/sda1", fstype="ext4",
                          mountpoint="/") == 0
        fams = c.collect()
        assert host.value(fams, "node_filesystem_device_error", **nfs) == 1
        assert fake.calls.count("/mnt/nfs") == 1
    finally:
        release.set()
    for t in threading.enumerate():
        if t.name == "statvfs:/mnt/nfs":
            t.join(5)
    fams = c.collect()
    assert host.value(fams, "node_filesystem_device_error", **nfs) == 0
    assert fake.calls.count("/mnt/nfs") == 2


def test_options_override_default_patterns(host):
    host.proc("mounts", "tmpfs /tmp tmpfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"
              "/dev/sda2 /home ext4 rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv(), "/tmp": sv(), "/home": sv()})
    opts = {"filesystem": {"fs_types_exclude": "^proc$", "mount_points_exclude": "^/home$"}}
    fams = FilesystemCollector(host.ctx(opts), statvfs=fake).collect()
    assert mountpoints(host, fams) == {"/", "/tmp"}


def test_later_mount_on_same_point_hides_earlier(host):
    host.proc("mounts", "/dev/sda1 /data ext4 rw 0 0\n/dev/sdb1 /data xfs rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/data": sv()})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    assert [dict(k)["device"] for k in host.values(fams, "node_filesystem_size_bytes")] == ["/dev/sdb1"]


def test_zero_sized_filesystem_has_no_used_percent(host):
    host.proc("mounts", "/dev/sda1 / ext4 rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv(blocks=0, bfree=0, bavail=0)})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    assert "autobot_filesystem_used_percent" not in host.names(fams)


def test_garbage_lines_skipped_and_self_mounts_fallback(host):
    host.proc("self/mounts", "garbage\n\x00\nfoo bar\nnone relative ext4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    fake = FakeStatvfs(host.rootfs, {"/": sv()})
    fams = FilesystemCollector(host.ctx(), statvfs=fake).collect()
    assert mountpoints(host, fams) == {"/"}


def test_statvfs_goes_under_rootfs(host):
    (host.rootfs / "data").mkdir()
    host.proc("mounts", "/dev/sda1 /data ext4 rw 0 0\n")
    fams = FilesystemCollector(host.ctx()).collect()  # real os.statvfs on <tmp>/root/data
    assert host.value(fams, "node_filesystem_device_error", device="/dev/sda1", fstype="ext4",
                      mountpoint="/data") == 0
    assert host.value(fams, "node_filesystem_size_bytes", device="/dev/sda1", fstype="ext4",
                      mountpoint="/data") > 0


def test_missing_mounts_raises(host):
    with pytest.raises(CollectorError, match="mounts"):
        FilesystemCollector(host.ctx()).collect()


def test_real_machine_collects_plausible_values():
    fams = FilesystemCollector(CollectorContext()).collect()
    for f in fams:
        if f.name == "autobot_filesystem_used_percent":
            assert all(0 <= s.value <= 100 for s in f.samples)
        if f.name == "node_filesystem_size_bytes":
            assert all(s.value >= 0 for s in f.samples)
