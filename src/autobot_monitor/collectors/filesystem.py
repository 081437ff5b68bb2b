"""Filesystem size and free space: mounts from ``/proc/mounts``, figures from ``statvfs(2)``."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector, read_text

#: node_exporter's default fs-types-exclude, plus ``erofs``, and ``tmpfs``/``ramfs`` (memory, not
#: disk: reported by the memory collector; ``/dev/shm`` and friends would only add noise). ``overlay``
#: is excluded except when mounted at ``/`` (the root of a container), see :func:`_wanted`.
DEFAULT_FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|erofs|fusectl|hugetlbfs|"
    r"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|ramfs|rpc_pipefs|securityfs|selinuxfs|"
    r"squashfs|sysfs|tmpfs|tracefs)$"
)
#: Pseudo and runtime mount points, and container-engine internals (node_exporter's default plus
#: all of ``/run``).
DEFAULT_MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|sys|run)($|/)|^/var/lib/docker/.+|^/var/lib/containers/storage/.+"
)
_LOOP_DEVICE = re.compile(r"^/dev/loop\d+$")
_ESCAPE = re.compile(r"\\([0-7]{3})")

LABELS = ("device", "fstype", "mountpoint")


def unescape(field: str) -> str:
    """Decode the octal escapes of ``/proc/mounts`` (``\\040`` space, ``\\011`` tab, ``\\134``)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    readonly: bool

    @property
    def labels(self) -> dict[str, str]:
        return {"device": self.device, "fstype": self.fstype, "mountpoint": self.mountpoint}


def parse_mounts(text: str) -> list[Mount]:
    """Entries of a ``/proc/mounts`` text; lines with fewer than 4 fields are skipped."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        device, mountpoint, fstype = (unescape(f) for f in fields[:3])
        if not mountpoint.startswith("/"):
            continue
        out.append(Mount(device, mountpoint, fstype, "ro" in fields[3].split(",")))
    return out


_MAY_HANG = re.compile(r"^(nfs4?|cifs|smb3?|smbfs|fuse(\..*)?|9p|ceph|glusterfs|lustre|afs|"
                       r"davfs|sshfs|ncpfs|gpfs|beegfs|virtiofs)$")


class FilesystemCollector(Collector):
    """Per mounted real filesystem, with labels ``{device, fstype, mountpoint}`` and
    node_exporter's names: ``node_filesystem_size_bytes``, ``_free_bytes`` (free to root),
    ``_avail_bytes`` (free to users), ``_files``, ``_files_free``, ``_readonly`` (1 if mounted
    ``ro``) and ``_device_error`` (1 if ``statvfs`` failed or did not answer within option
    ``statvfs_timeout`` seconds, default 2; the mount's other figures are then absent). Bytes are
    block counts * ``f_frsize``. Derived: ``autobot_filesystem_used_percent`` with df's formula
    used / (used + avail) * 100, used = size - free (absent for a 0-sized filesystem).

    Mounts come from ``<procfs>/mounts``, else ``<procfs>/self/mounts``; mount points are resolved
    under ``ctx.root``. Skipped: fstypes matching option ``fs_types_exclude`` (default
    :data:`DEFAULT_FS_TYPES_EXCLUDE`; so a read-only squashfs image with 0 free never looks full),
    mount points matching ``mount_points_exclude`` (default :data:`DEFAULT_MOUNT_POINTS_EXCLUDE`),
    ``/dev/loopN`` devices (disk images), and repeated mounts of the same device path (bind mounts;
    the shortest mount point is kept). An ``overlay`` mounted at ``/`` is kept (containers).
    A ``statvfs`` that hangs keeps its thread; that mount reports ``device_error`` 1 without a new
    call until the stuck one returns. Raises :class:`CollectorError` only if no mounts file reads.
    """

    name = "filesystem"
    SPECS = (
        MetricSpec("node_filesystem_size_bytes", "gauge",
                   "Filesystem size in bytes.", "bytes", LABELS),
        MetricSpec("node_filesystem_free_bytes", "gauge",
                   "Filesystem free space in bytes.", "bytes", LABELS),
        MetricSpec("node_filesystem_avail_bytes", "gauge",
                   "Filesystem space available to non-root users in bytes.", "bytes", LABELS),
        MetricSpec("node_filesystem_files", "gauge", "Filesystem total file nodes.", "", LABELS),
        MetricSpec("node_filesystem_files_free", "gauge",
                   "Filesystem total free file nodes.", "", LABELS),
        MetricSpec("node_filesystem_readonly", "gauge",
                   "Filesystem read-only status.", "", LABELS),
        MetricSpec("node_filesystem_device_error", "gauge",
                   "Whether an error occurred while getting statistics for the given device.",
                   "", LABELS),
        MetricSpec("autobot_filesystem_used_percent", "gauge",
                   "Share of the space usable by non-root users that is in use (as df shows).",
                   "percent", LABELS),
    )

    def __init__(self, ctx, statvfs: Callable[[str], os.statvfs_result] = os.statvfs):
        super().__init__(ctx)
        self._fs_exclude = re.compile(self.options.get("fs_types_exclude", DEFAULT_FS_TYPES_EXCLUDE))
        self._mp_exclude = re.compile(
            self.options.get("mount_points_exclude", DEFAULT_MOUNT_POINTS_EXCLUDE))
        self._timeout = float(self.options.get("statvfs_timeout", 2.0))
        self._statvfs = statvfs
        self._stuck: dict[str, threading.Thread] = {}

    def _wanted(self, m: Mount) -> bool:
        if m.fstype == "overlay" and m.mountpoint == "/":
            return not self._mp_exclude.search(m.mountpoint)
        return not (self._fs_exclude.search(m.fstype) or self._mp_exclude.search(m.mountpoint)
                    or _LOOP_DEVICE.match(m.device))

    def mounts(self) -> list[Mount]:
        """The mounts this collector reports, in mounts-file order, after filtering."""
        text = read_text(self.ctx.proc("mounts"))
        if text is None:
            text = read_text(self.ctx.proc("self", "mounts"))
        if text is None:
            raise CollectorError(f"cannot read {self.ctx.proc('mounts')}")
        visible: dict[str, Mount] = {}
        for m in parse_mounts(text):  # a later mount on the same point hides the earlier one
            visible.pop(m.mountpoint, None)
            visible[m.mountpoint] = m
        chosen: dict[str, Mount] = {}
        for m in visible.values():
            if not self._wanted(m):
                continue
            key = m.device if m.device.startswith("/") else f"{m.device}\0{m.mountpoint}"
            old = chosen.get(key)
            if old is None or len(m.mountpoint) < len(old.mountpoint):
                chosen[key] = m
        return list(chosen.values())

    def collect(self) -> list[MetricFamily]:
        mounts = self.mounts()
        results = self._statvfs_all(mounts)
        fams = {s.name: s.family() for s in self.SPECS}
        for m in mounts:
            labels = m.labels
            st = results.get(m.mountpoint)
            fams["node_filesystem_device_error"].add(0 if st is not None else 1, labels)
            fams["node_filesystem_readonly"].add(1 if m.readonly else 0, labels)
            if st is None:
                continue
            bs = st.f_frsize or st.f_bsize
            size, free, avail = st.f_blocks * bs, st.f_bfree * bs, st.f_bavail * bs
            fams["node_filesystem_size_bytes"].add(size, labels)
            fams["node_filesystem_free_bytes"].add(free, labels)
            fams["node_filesystem_avail_bytes"].add(avail, labels)
            fams["node_filesystem_files"].add(st.f_files, labels)
            fams["node_filesystem_files_free"].add(st.f_ffree, labels)
            used = size - free
            if size > 0 and used >= 0 and used + avail > 0:
                fams["autobot_filesystem_used_percent"].add(used * 100.0 / (used + avail), labels)
        return [f for f in fams.values() if f.samples]

    def _statvfs_all(self, mounts: list[Mount]) -> dict[str, os.statvfs_result]:
        """``statvfs`` of every mount. Local filesystems are asked inline (they answer from
        kernel memory); network and FUSE filesystems, which can hang, each get their own daemon
        thread, all sharing one deadline. Mount points missing from the result failed, timed
        out or are still stuck."""
        results: dict[str, os.statvfs_result] = {}
        threads: list[tuple[str, threading.Thread]] = []
        mountpoints = [m.mountpoint for m in mounts]
        for m in mounts:
            mp = m.mountpoint
            if not _MAY_HANG.match(m.fstype):
                self._one(mp, results)
                continue
            stuck = self._stuck.get(mp)
            if stuck is not None:
                if stuck.is_alive():
                    continue
                del self._stuck[mp]
            t = threading.Thread(target=self._one, args=(mp, results), daemon=True,
                                 name=f"statvfs:{mp}")
            t.start()
            threads.append((mp, t))
        deadline = time.monotonic() + self._timeout  # real waiting, not a measured rate
        for mp, t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                self._stuck[mp] = t
        return {mp: results[mp] for mp in mountpoints if mp in results and mp not in self._stuck}

    def _one(self, mp: str, results: dict[str, os.statvfs_result]) -> None:
        try:
            results[mp] = self._statvfs(self.ctx.root(mp))
        except (OSError, ValueError):
            pass
