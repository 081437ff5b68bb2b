"""Metric storage behind one interface (:class:`~.base.Store`).

:class:`~.engine.TieredStore` is the embedded engine (compressed chunks in SQLite, WAL-backed
head, raw/1m/1h tiers); :func:`open_store` builds the store a config asks for.
"""

from .base import MAX_POINTS, Point, QueryResult, Series, Store
from .engine import Tier, TieredStore, default_tiers
from .factory import open_store
from .matchers import Matcher, parse_matcher, parse_matchers

__all__ = ["MAX_POINTS", "Matcher", "Point", "QueryResult", "Series", "Store", "Tier", "TieredStore",
           "default_tiers", "open_store", "parse_matcher",
           "parse_matchers"]
