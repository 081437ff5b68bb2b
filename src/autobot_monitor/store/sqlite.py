"""Compatibility name for the embedded store: ``SqliteStore(path, retention_s)`` opens a
:class:`~.engine.TieredStore` keeping ``retention_s`` seconds of raw samples (rollup tiers keep
their defaults). The original row-per-sample SQLite layout is gone; this name stays for callers
written against it."""

from __future__ import annotations

from .engine import TieredStore, default_tiers


def SqliteStore(path: str, retention_s: float = 15 * 86400) -> TieredStore:  # noqa: N802 - old class name
    return TieredStore(path, default_tiers(raw_days=retention_s / 86400))
