"""``max_disk_bytes`` of the embedded store (:class:`~.engine.TieredStore`): what counts and when
a batch is refused (see the engine's module doc)."""

from __future__ import annotations

import logging
import os
import sqlite3

from ..errors import StoreError

log = logging.getLogger(__name__)

SLACK = 16384  # bytes kept free for the page granularity of a flush


def disk_bytes(store) -> int:
    """Bytes of every file whose name starts with the store's path (SQLite's ``-wal``/``-shm``,
    the head log, lock and temp files) plus the database's pages in use (pages freed by
    retention are reused, so they do not count). Caller holds the store's lock. A directory
    that went away counts no files (the write then fails on the head log, a StoreError)."""
    d, base = os.path.split(os.path.abspath(store.path))
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
    page, count, free = (store._w.execute(f"PRAGMA {p}").fetchone()[0]
                         for p in ("page_size", "page_count", "freelist_count"))
    return total + (count - free) * page


def check_cap(store, n: int) -> None:
    """Refuse a batch of ``n`` samples whose log record (>= 20 bytes a sample) would take the
    store's files past ``max_disk_bytes``; flushes the head and truncates SQLite's journal first
    to make room. Once refusing, a tenth of the cap must be free again (no flapping at the edge).
    Raises StoreError (through ``store._refuse``: counted, logged once per state change)."""
    if not store.max_disk_bytes:
        return
    cap = store.max_disk_bytes - (store.max_disk_bytes // 10 if store._refusing else 0)
    need = 16 + 20 * n
    # room is kept to flush the head: its chunks pass through SQLite's journal, then the
    # database (taken as twice the log's bytes plus SLACK for the pages of the indexes)
    if disk_bytes(store) + need + 2 * (store._wal.size() + need) + SLACK <= cap:
        return
    if store._head_n:
        try:
            store._flush(None, refuse=0)
        except StoreError:
            pass
    try:
        store._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as e:
        log.debug("checkpoint of %s failed: %s", store.path, e)
    used = disk_bytes(store)
    if used + 3 * need + SLACK > cap:
        store._refuse(f"disk full: store files at max_disk_bytes={store.max_disk_bytes}", n,
                      f" ({used} bytes used, this batch needs {need})")
