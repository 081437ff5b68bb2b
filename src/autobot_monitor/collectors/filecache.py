"""Reading kernel files cheaply: whole-file reads, and descriptors kept open and re-read with
``pread`` at offset 0.

procfs and sysfs build a file's text anew for every read that starts at offset 0 (sysfs calls
the attribute's ``show`` again; a procfs seq file restarts), so a descriptor opened once can be
re-read every cycle: one system call instead of open, read, read-to-EOF and close. Measured on
this project's 2-vCPU VM: 110 ``/sys/class/net`` attribute files in 1.42 ms with
:func:`read_text` and 0.16 ms with ``pread`` on kept descriptors.

Only files under a root that *is* a mount point (``/proc``, ``/sys``, a bind-mounted
``/host/proc``) are kept open: a regular file (a recorded fixture tree, ``/etc/os-release``)
may be replaced by rename, and a kept descriptor would go on reading the old file. A
descriptor whose read fails (the sysfs device was removed: ENODEV) is closed and the path is
opened afresh once, so an interface removed and re-created under the same name reads the new
one; a file that exists but has no value now (a down link's ``speed`` answers EINVAL) reads as
None and stays open, so it costs one system call a cycle, not three. Kept descriptors are
bounded per process (:data:`MAX_KEPT`, at most a quarter of the soft ``RLIMIT_NOFILE``): past the
budget, files are read whole as by :func:`read_text`.
"""

from __future__ import annotations

import errno
import os
import resource
import threading

MAX_READ_BYTES = 16 << 20  # most bytes read_text reads of one file (a bound, not a size seen)
#: read errors meaning the file's object is gone (a removed device), not "no value right now"
_GONE = frozenset({errno.ENODEV, errno.ENOENT, errno.ESTALE, errno.ENXIO})


def _budget() -> int:
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 4096
    return max(0, min(512, soft // 4))


MAX_KEPT = _budget()
"""Descriptors all :class:`FileCache` instances of the process keep open together."""

_kept_lock = threading.Lock()
_kept = 0


def _read_fd(fd: int, limit: int, at: int | None) -> bytes:
    """Up to ``limit`` bytes of ``fd`` until end of file: from offset ``at`` with ``pread``, or
    from the current position with ``read`` when ``at`` is None. Raises OSError."""
    chunks = []
    left = limit
    pos = at
    while left > 0:
        if pos is None:
            chunk = os.read(fd, min(left, 65536))
        else:
            chunk = os.pread(fd, min(left, 65536), pos)
            pos += len(chunk)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_text(path: str, limit: int = MAX_READ_BYTES) -> str | None:
    """Contents of ``path`` (UTF-8, undecodable bytes replaced; at most ``limit`` bytes) or
    ``None`` if it cannot be read (missing, permission, I/O error, a directory). Plain ``os``
    calls read until end of file, without newline translation: about 30 % less CPU than
    ``open().read()`` on small procfs files (7 of 23 us for /proc/stat here)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return _read_fd(fd, limit, None).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _bounded(text: str | None, limit: int) -> str | None:
    return None if text is None or len(text) > limit else text


def _integer(text: str | None) -> int | None:
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def read_bounded(path: str, limit: int) -> str | None:
    """Text of ``path``, or None when it cannot be read or is longer than ``limit`` characters
    (a truncated kernel table would give wrong figures)."""
    return _bounded(read_text(path, limit + 1), limit)


def read_int(path: str) -> int | None:
    """Integer in ``path`` (whitespace stripped) or ``None`` if unreadable, empty or not a number."""
    return _integer(read_text(path))


class FileCache:
    """Kept-open descriptors of the kernel files one collector reads every cycle (one collector
    runs one ``collect`` at a time, so an instance is used by one thread at a time).

    ``roots``: directories (``ctx.procfs``, ``ctx.sysfs``) whose files may be kept open; those
    that are not mount points are dropped. :meth:`read` answers like :func:`read_text`."""

    def __init__(self, *roots: str) -> None:
        self._roots = tuple(os.path.join(os.path.abspath(r), "") for r in roots
                            if r and os.path.ismount(r))
        self._fds: dict[str, int] = {}

    def keeps(self, path: str) -> bool:
        """Whether ``path`` lies under a root whose files are kept open."""
        return bool(self._roots) and path.startswith(self._roots)

    def read(self, path: str, limit: int = MAX_READ_BYTES) -> str | None:
        """Text of ``path`` (at most ``limit`` bytes) or None when it cannot be read."""
        fd = self._fds.get(path)
        if fd is None:
            fd = self._open(path)
            if fd is None:
                return read_text(path, limit)
        try:
            return _read_fd(fd, limit, 0).decode("utf-8", "replace")
        except OSError as e:
            if e.errno in _GONE:  # removed under us: open afresh once (re-created, or None)
                self._drop(path)
                return read_text(path, limit)
            return None  # the attribute has no value now (a down link's speed: EINVAL): kept

    def read_bounded(self, path: str, limit: int) -> str | None:
        """:func:`read_bounded` through the kept descriptor."""
        return _bounded(self.read(path, limit + 1), limit)

    def read_int(self, path: str) -> int | None:
        """:func:`read_int` through the kept descriptor."""
        return _integer(self.read(path, 4096))

    def _open(self, path: str) -> int | None:
        global _kept
        if not self.keeps(path):
            return None
        with _kept_lock:
            if _kept >= MAX_KEPT:
                return None
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
            _kept += 1
        self._fds[path] = fd
        return fd

    def _drop(self, path: str) -> None:
        global _kept
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)
            with _kept_lock:
                _kept -= 1

    def retain_under(self, dirs: list[str]) -> None:
        """Close the descriptors of every path outside ``dirs`` (the folders of the interfaces
        or devices still there), so vanished ones hold no descriptor."""
        keep = tuple(os.path.join(d, "") for d in dirs)
        for p in [p for p in self._fds if not p.startswith(keep)]:
            self._drop(p)

    def close(self) -> None:
        """Close every kept descriptor."""
        for p in list(self._fds):
            self._drop(p)

    def __len__(self) -> int:
        return len(self._fds)
