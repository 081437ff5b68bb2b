"""Embedded store on SQLite (WAL mode): no server, survives ``kill -9`` of the hub.

Layout: ``series(id, name, labels, type)`` with a unique (name, labels) key, and
``samples(series_id, ts_ms, value)`` clustered by (series_id, ts_ms) in a ``WITHOUT ROWID`` table,
so a range query on one series is one index range scan. Each :meth:`SqliteStore.write` is one
transaction; with ``journal_mode=WAL`` and ``synchronous=NORMAL`` a committed cycle survives a
killed process (not necessarily a power cut). This is the simple correct store of the core; the
compressed, tiered engine replaces it behind the same :class:`~.base.Store` interface.

Thread-safety: one connection per thread (SQLite connections are not shared); writes are
serialised by a lock.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping

from ..errors import QueryError, StoreError
from .base import MAX_POINTS, SeriesPoints, WriteSample

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    type TEXT NOT NULL,
    UNIQUE (name, labels)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_ts ON samples (ts);
"""


class SqliteStore:
    """Store in one SQLite file at ``path``; ``retention_s`` seconds of history are kept."""

    def __init__(self, path: str, retention_s: float = 15 * 86400):
        self.path = path
        self.retention_s = retention_s
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._ids: dict[tuple[str, str], int] = {}
        self._closed = False
        conn = self._conn()
        with self._write_lock:
            conn.executescript(_SCHEMA)
            for sid, name, labels in conn.execute("SELECT id, name, labels FROM series"):
                self._ids[(name, labels)] = sid

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("store is closed")
        c = getattr(self._local, "conn", None)
        if c is None:
            try:
                c = sqlite3.connect(self.path, timeout=30, check_same_thread=True)
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as e:
                raise StoreError(f"cannot open store {self.path}: {e}") from e
            self._local.conn = c
            self._all_conns().append(c)
        return c

    def _all_conns(self) -> list[sqlite3.Connection]:
        if not hasattr(self, "_conns"):
            self._conns: list[sqlite3.Connection] = []
        return self._conns

    def _series_id(self, conn: sqlite3.Connection, name: str, labels: str, type_: str) -> int:
        key = (name, labels)
        sid = self._ids.get(key)
        if sid is None:
            conn.execute("INSERT OR IGNORE INTO series (name, labels, type) VALUES (?, ?, ?)",
                         (name, labels, type_))
            sid = conn.execute("SELECT id FROM series WHERE name=? AND labels=?",
                               (name, labels)).fetchone()[0]
            self._ids[key] = sid
        return sid

    def write(self, samples: Iterable[WriteSample]) -> int:
        """One transaction for the whole batch. NaN is stored as NULL (no value). A sample with
        the same series and millisecond timestamp as a stored one replaces it."""
        conn = self._conn()
        rows = []
        with self._write_lock:
            try:
                for s in samples:
                    lab = json.dumps(dict(s.labels), sort_keys=True, separators=(",", ":"))
                    sid = self._series_id(conn, s.name, lab, s.type)
                    v = None if math.isnan(s.value) else s.value
                    rows.append((sid, int(round(s.ts * 1000)), v))
                conn.executemany("INSERT OR REPLACE INTO samples (series_id, ts, value) "
                                 "VALUES (?, ?, ?)", rows)
                conn.commit()
            except sqlite3.Error as e:
                conn.rollback()
                self._ids.clear()
                raise StoreError(f"write failed: {e}") from e
        return len(rows)

    def _matching(self, conn: sqlite3.Connection, name: str,
                  matchers: Mapping[str, str]) -> list[tuple[int, dict[str, str], str]]:
        out = []
        for sid, labels, type_ in conn.execute(
                "SELECT id, labels, type FROM series WHERE name=?", (name,)):
            lab = json.loads(labels)
            if all(lab.get(k) == v for k, v in matchers.items()):
                out.append((sid, lab, type_))
        return out

    def query_range(self, name: str, matchers: Mapping[str, str], start: float, end: float,
                    step: float) -> list[SeriesPoints]:
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise QueryError("end must not be before start")
        if not math.isfinite(step) or step <= 0:
            raise QueryError("step must be a positive number of seconds")
        if (end - start) / step + 1 > MAX_POINTS:
            raise QueryError(f"more than {MAX_POINTS} points per series: raise step")
        conn = self._conn()
        start_ms, end_ms, step_ms = int(start * 1000), int(end * 1000), max(1, int(step * 1000))
        result = []
        for sid, labels, type_ in self._matching(conn, name, matchers):
            if type_ == "counter":
                # last value of each bucket: the sample with the greatest ts in it
                sql = ("SELECT b, value FROM (SELECT (ts - ?) / ? AS b, value, "
                       "ROW_NUMBER() OVER (PARTITION BY (ts - ?) / ? ORDER BY ts DESC) AS rn "
                       "FROM samples WHERE series_id=? AND ts BETWEEN ? AND ?) WHERE rn=1 ORDER BY b")
                args = (start_ms, step_ms, start_ms, step_ms, sid, start_ms, end_ms)
            else:
                sql = ("SELECT (ts - ?) / ? AS b, AVG(value) FROM samples "
                       "WHERE series_id=? AND ts BETWEEN ? AND ? GROUP BY b ORDER BY b")
                args = (start_ms, step_ms, sid, start_ms, end_ms)
            pts = [((start_ms + b * step_ms) / 1000.0, v) for b, v in conn.execute(sql, args)]
            if pts:
                result.append(SeriesPoints(name, labels, pts))
        result.sort(key=lambda s: sorted(s.labels.items()))
        return result

    def mean(self, name: str, matchers: Mapping[str, str], start: float,
             end: float) -> float | None:
        """Average of every stored sample of the matching series in ``[start, end]`` (Unix
        seconds), weighting each sample equally; None when there is none."""
        conn = self._conn()
        total, n = 0.0, 0
        for sid, _, _ in self._matching(conn, name, matchers):
            row = conn.execute("SELECT SUM(value), COUNT(value) FROM samples WHERE series_id=? "
                               "AND ts BETWEEN ? AND ?",
                               (sid, int(start * 1000), int(end * 1000))).fetchone()
            if row and row[1]:
                total += row[0]
                n += row[1]
        return total / n if n else None

    def latest_time(self) -> float | None:
        """Unix seconds of the newest stored sample, or None for an empty store."""
        row = self._conn().execute("SELECT MAX(ts) FROM samples").fetchone()
        return row[0] / 1000.0 if row and row[0] is not None else None

    def metric_names(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT DISTINCT name FROM series ORDER BY name")]

    def enforce_retention(self, now: float) -> int:
        cutoff = int((now - self.retention_s) * 1000)
        conn = self._conn()
        with self._write_lock:
            cur = conn.execute("DELETE FROM samples WHERE ts < ?", (cutoff,))
            conn.commit()
            return cur.rowcount

    def close(self) -> None:
        for c in self._all_conns():
            try:
                c.close()
            except sqlite3.Error:
                pass
        self._closed = True
