"""Atomic file replacement: a reader (or a restart after a crash) sees the old file or the new
one, never a torn one.

Each writer puts the new content in a temporary file in the target's directory
(``.NAME.RANDOM.tmp``, created exclusively with the process umask), flushes and fsyncs it,
``os.replace``-s it over the target and fsyncs the directory so the rename itself is durable.
If anything fails before the replace, the temporary file is removed and the old file is left
as it was; the error (``OSError``, or ``ValueError``/``TypeError`` from JSON encoding, raised
before any file is touched) propagates.

Not for appends or log rotation (renames of a whole log are not content replacements).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from typing import IO, Any


def _fsync_path(path: str, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path next to ``path`` for the caller to write (by name, e.g. a library
    that takes a filename); on a normal exit it is fsynced and replaces ``path``, on an exception
    it is deleted and ``path`` is untouched."""
    target = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(target))
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_path(directory, directory=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], binary: bool = False,
                encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """``with atomic_open(p) as f: f.write(...)``: a new file (``"x"`` mode, text with
    ``encoding`` unless ``binary``) that replaces ``p`` when the block ends without error."""
    with atomic_path(path) as tmp:
        f: IO[Any]
        with (open(tmp, "xb") if binary else open(tmp, "x", encoding=encoding)) as f:  # noqa: SIM115
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically (see the module docstring)."""
    with atomic_open(path, binary=True) as f:
        f.write(data)


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` by ``text`` atomically."""
    with atomic_open(path, encoding=encoding) as f:
        f.write(text)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = None,
               separators: tuple[str, str] | None = None, allow_nan: bool = True,
               default: Callable[[Any], Any] | None = None) -> None:
    """Replace ``path`` by ``obj`` as JSON (arguments as :func:`json.dumps`). The text is built
    first, so an object that cannot be encoded (``ValueError``, ``TypeError``) leaves no file."""
    text = json.dumps(obj, indent=indent, separators=separators, allow_nan=allow_nan,
                      default=default)
    write_text(path, text)


__all__ = ["atomic_open", "atomic_path", "write_bytes", "write_json", "write_text"]
