"""Disk cleanup walk: which files under a configured root may be removed, and removing them.

The root is opened by :func:`open_root` one path component at a time from ``/`` with
``O_NOFOLLOW``, so a symlink anywhere on its path (the root itself or a parent) is refused
instead of moving the walk to another tree. The tree is walked with ``os.fwalk`` over directory
fds without following symlinks; right before each unlink the file is re-checked (same inode,
still regular, still old) and its directory re-checked to be under the root (its path read back
from ``/proc/self/fd``). Blocking: call from a thread.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from typing import Any

from ..errors import OptimizerError

PLAN_FILES = 50
"""Files a cleanup plan lists by name (the rest are counted)."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_root(root: str) -> int:
    """A directory fd for the absolute, normalised ``root``, opened one component at a time from
    ``/`` with ``O_NOFOLLOW``: a symlink anywhere on the path (the root or any parent) is refused,
    so the tree walked is the one the path names. Raises OptimizerError naming the component."""
    fd = os.open("/", _DIR_FLAGS)
    done = ""
    try:
        for comp in [c for c in root.split("/") if c]:
            done += "/" + comp
            try:
                nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise OptimizerError(
                        f"cleanup root {root}: {done} is a symlink or not a directory (symlinks are "
                        f"not followed; the real path is {os.path.realpath(root)})") from None
                raise OptimizerError(f"cleanup root {root}: {done}: {e.strerror}") from None
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _inside(dfd: int, root: str) -> bool:
    """Whether directory fd ``dfd`` is ``root`` or below it now (its path read back from
    ``/proc/self/fd``, so a directory moved out of the tree during the walk is caught)."""
    try:
        where = os.readlink(f"/proc/self/fd/{dfd}")
    except OSError:
        return False
    return where == root or where.startswith(root.rstrip("/") + "/")


def walk_cleanup(root_cfg, now: float, delete: bool = False) -> dict[str, Any]:
    """Find (and with ``delete`` remove) the files ``root_cfg`` allows. Returns ``{"files": n,
    "bytes": total size, "paths": first PLAN_FILES paths, "errors": [...], "truncated": bool}``.
    The root is opened by :func:`open_root` (no symlink on its path) and walked by directory fds
    without following symlinks; right before each unlink the file is re-checked (same inode,
    still regular, still old) and its directory re-checked to be under the root
    (:func:`_inside`). Raises OptimizerError if the root is missing or its path has a symlink."""
    root = root_cfg.path
    rfd = open_root(root)
    cutoff = now - root_cfg.older_than_days * 86400
    out: dict[str, Any] = {"files": 0, "bytes": 0, "paths": [], "errors": [], "truncated": False}
    try:
        for dirpath, _dirs, files, dfd in os.fwalk(".", dir_fd=rfd, follow_symlinks=False):
            for name in files:
                if not any(fnmatch.fnmatchcase(name, g) for g in root_cfg.globs):
                    continue
                try:
                    fst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(fst.st_mode) or fst.st_mtime >= cutoff:
                    continue
                if out["files"] >= root_cfg.max_files:
                    out["truncated"] = True
                    return out
                path = os.path.normpath(os.path.join(root, dirpath, name))
                if delete and not _unlink_checked(name, dfd, fst, cutoff, root, path, out["errors"]):
                    continue
                out["files"] += 1
                out["bytes"] += fst.st_size
                if len(out["paths"]) < PLAN_FILES:
                    out["paths"].append(path)
    finally:
        os.close(rfd)
    return out


def _unlink_checked(name: str, dfd: int, fst: os.stat_result, cutoff: float, root: str, path: str,
                    errors: list[str]) -> bool:
    """Unlink ``name`` in ``dfd`` if it is still the file ``fst`` (regular, older than
    ``cutoff``) and ``dfd`` still lies under ``root``; True if removed (errors: at most 20)."""
    try:
        if not _inside(dfd, root):
            raise OSError(errno.EXDEV, "directory moved outside the cleanup root")
        again = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if (again.st_ino, again.st_dev) != (fst.st_ino, fst.st_dev) \
                or not stat.S_ISREG(again.st_mode) or again.st_mtime >= cutoff:
            return False
        os.unlink(name, dir_fd=dfd)
        return True
    except OSError as e:
        if len(errors) < 20:
            errors.append(f"{path}: {e.strerror}")
        return False


__all__ = ["PLAN_FILES", "open_root", "walk_cleanup"]
