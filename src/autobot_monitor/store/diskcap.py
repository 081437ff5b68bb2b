"""``max_disk_bytes`` of the embedded store (:class:`~.engine.TieredStore`): what counts and when
a batch is refused (see the engine's module doc)."""

from __future__ import annotations

import os

SLACK = 24576  # bytes kept free for the page granularity of a flush (index and metadata pages)


def file_bytes(path: str) -> int:
    """Bytes of every file whose name starts with the store's ``path`` but is not the database
    itself (SQLite's ``-wal``/``-shm``, the head log, lock and temp files). A directory that
    went away counts no files (the write then fails on the head log, a StoreError)."""
    d, base = os.path.split(os.path.abspath(path))
    total = 0
    try:
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith(base) and e.name != base and e.is_file(follow_symlinks=False):
                    try:
                        total += e.stat(follow_symlinks=False).st_size
                    except OSError:  # removed meanwhile (a temp file)
                        pass
    except OSError:  # the directory went away: nothing of it left on disk to count
        pass
    return total


def batch_bytes(n: int) -> int:
    """Bytes a log record of ``n`` samples needs at most (>= 20 bytes a sample)."""
    return 16 + 20 * n


def room_for(used: int, need: int, wal_bytes: int, cap: int) -> bool:
    """Whether a batch needing ``need`` bytes fits under ``cap`` with the store at ``used`` bytes,
    keeping room to flush the head: its chunks pass through SQLite's journal, then the database
    (taken as twice the log's ``wal_bytes`` plus :data:`SLACK` for the pages of the indexes)."""
    return used + need + 2 * (wal_bytes + need) + SLACK <= cap


def room_after_flush(used: int, need: int, cap: int) -> bool:
    """Whether the batch fits once the head is flushed and the journal truncated."""
    return used + 3 * need + SLACK <= cap


def effective_cap(max_disk_bytes: int, refusing: bool) -> int:
    """The cap a batch must fit under: once refusing, a tenth of ``max_disk_bytes`` must be free
    again (no flapping at the edge)."""
    return max_disk_bytes - (max_disk_bytes // 10 if refusing else 0)
