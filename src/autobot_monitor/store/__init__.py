"""Metric storage behind one interface (:class:`~.base.Store`)."""

from .base import MAX_POINTS, SeriesPoints, Store, WriteSample
from .sqlite import SqliteStore

__all__ = ["MAX_POINTS", "SeriesPoints", "SqliteStore", "Store", "WriteSample"]
