"""Metric metadata kept by the embedded store: per family its type (gauge, counter, info,
histogram), unit and help text, as the hub wrote them (Prometheus keeps the same per target in
``/api/v1/metadata``).

Series rows keep only how their values aggregate (``counter`` for anything cumulative, a
histogram's ``_bucket``/``_sum``/``_count`` included); this table says what family a sample name
belongs to and what it measures. It lives in the store's SQLite file (table ``metadata``) and is
written in the same transaction as a head flush, so it is as durable as the chunks; until then
it is served from memory. The last written metadata of a family wins.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..model import HISTOGRAM_SUFFIXES, family_name
from .base import Series

SCHEMA = """CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, type TEXT NOT NULL,
    unit TEXT NOT NULL, help TEXT NOT NULL);"""


@dataclass(frozen=True, slots=True)
class MetricMeta:
    """What a family is: ``type`` (gauge, counter, info, histogram), ``unit`` (a base unit
    word or ``""``) and ``help``."""

    type: str
    unit: str
    help: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "unit": self.unit, "help": self.help}


class MetadataTable:
    """family name -> :class:`MetricMeta`, and which family each stored sample name belongs to.
    Not thread-safe: the store calls it under its lock."""

    def __init__(self) -> None:
        self._meta: dict[str, MetricMeta] = {}
        # sample name -> family name, for the sample names noted in this process
        self.by_sample: dict[str, str] = {}
        self._dirty: set[str] = set()

    def load(self, conn: sqlite3.Connection) -> None:
        """Create the table when missing and read it. Raises sqlite3.Error."""
        conn.executescript(SCHEMA)
        for name, type_, unit, help_ in conn.execute("SELECT name, type, unit, help FROM metadata"):
            self._meta[name] = MetricMeta(type_, unit, help_)

    def note(self, s: Series) -> None:
        """Remember the metadata ``s`` carries (the store calls this once per sample name and
        process, so metadata that changes while the hub runs is picked up on its next start)."""
        fam = family_name(s.type, s.name)
        self.by_sample[s.name] = fam
        meta = MetricMeta(s.type, s.unit, s.help)
        if self._meta.get(fam) != meta:
            self._meta[fam] = meta
            self._dirty.add(fam)

    def persist(self, conn: sqlite3.Connection) -> None:
        """Write what changed since the last call, inside the caller's transaction (the dirty
        set is cleared by :meth:`persisted` once it commits). Raises sqlite3.Error."""
        if self._dirty:
            conn.executemany("INSERT OR REPLACE INTO metadata (name, type, unit, help) "
                             "VALUES (?, ?, ?, ?)",
                             [(n, self._meta[n].type, self._meta[n].unit, self._meta[n].help)
                              for n in sorted(self._dirty)])

    def persisted(self) -> None:
        self._dirty.clear()

    def get(self, name: str | None = None) -> dict[str, MetricMeta]:
        """Metadata of every family, or of the one called ``name`` (a family name, or a sample
        name such as a histogram's ``x_bucket``); empty when unknown."""
        if name is None:
            return dict(sorted(self._meta.items()))
        fam = self.by_sample.get(name, name)
        if fam not in self._meta:  # a histogram's sample name, not written since the start
            for sfx in HISTOGRAM_SUFFIXES:
                base = self._meta.get(name[: -len(sfx)]) if name.endswith(sfx) else None
                if base is not None and base.type == "histogram":
                    fam = name[: -len(sfx)]
        return {fam: self._meta[fam]} if fam in self._meta else {}
