"""The store interface every backend implements, and the query result shapes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..model import MetricFamily
from .matchers import Matcher

MAX_POINTS = 11_000  # same cap as Prometheus' query_range

# label matchers as every read takes them: ``{name: value}`` (equality) or Matcher objects
Matchers = Mapping[str, str] | Iterable[Matcher] | None


Point = tuple[float, float | None]  # (Unix seconds, value; None = no value)


@dataclass(slots=True)
class Series:
    """One series and some of its points, what the store is written and read in: metric
    ``name``; ``labels`` (a dict, without the name); ``points`` as ``(unix_seconds,
    value_or_None)`` pairs in time order (written: one point per sample, None stored as NaN;
    read: one per step or raw sample); ``type`` of its family (``gauge``, ``counter`` or
    ``info`` or ``histogram``; a histogram's ``_bucket``/``_sum``/``_count`` series are kept as
    counters, which roll up as increases); written: the family's ``unit`` and ``help``, kept as
    metadata (see :meth:`TieredStore.metadata`), not part of the series."""

    name: str
    labels: dict[str, str]
    points: list[Point]
    type: str = "gauge"
    unit: str = ""
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.name, "labels": self.labels,
                "points": [[t, v] for t, v in self.points]}


@dataclass(slots=True)
class QueryResult:
    """A range query's answer: ``tier`` it was read from (``raw``, ``1m``, ``1h``, or the name
    of an external backend) and the ``series``."""

    tier: str
    series: list[Series]


class Store(Protocol):
    """A metric store. All methods are blocking; async callers run them in a thread."""

    def write(self, batch: Iterable[Series]) -> int:
        """Persist the points of ``batch``; returns how many were written. Raises ``StoreError``."""
        ...

    def query_range(self, name: str, matchers: Matchers, start: float, end: float,
                    step: float, fn: str | None = None) -> list[Series]:
        """Series called ``name`` whose labels include every ``matchers`` pair, over
        ``[start, end]`` (Unix seconds) at ``step`` seconds: one point per step bucket, the bucket's
        average for gauges and its last value for counters (``fn`` as in :meth:`query`). Raises
        ``QueryError`` for ``end < start``, ``step <= 0`` or more than :data:`MAX_POINTS` points
        per series."""
        ...

    def raw_samples(self, name: str, matchers: Matchers, start: float, end: float) -> list[Series]:
        """Every stored sample of the matching series in ``[start, end]``, exact. Raises
        ``QueryError`` for ``end < start`` or a backend that cannot answer it."""
        ...

    def mean(self, name: str, matchers: Matchers, start: float,
             end: float) -> float | None:
        """Average of all matching samples in ``[start, end]``; None when there is none."""
        ...

    def query(self, name: str, matchers: Matchers, start: float, end: float, step: float,
              fn: str | None = None) -> QueryResult:
        """Like :meth:`query_range` with label ``matchers`` (a ``{name: value}`` mapping or
        :class:`~.matchers.Matcher` objects with ``=``, ``!=``, ``=~``, ``!~``) and ``fn``: None
        (the default above), avg, min, max, last, sum, count or rate (counters, per second,
        resets handled). Answers which tier served it."""
        ...

    def metric_names(self) -> list[str]:
        """Every stored metric name, sorted."""
        ...

    def metadata(self, name: str | None = None) -> Mapping[str, Any]:
        """Family name -> metadata (``.type``, ``.unit``, ``.help``, ``.to_json()``) of every
        family, or of the one ``name`` (a family or sample name) belongs to."""
        ...

    def enforce_retention(self, now: float) -> int:
        """Drop samples older than the retention; returns how many were dropped."""
        ...

    def families(self) -> list[MetricFamily]:
        """The store's self-metrics as MetricFamily objects (may be empty)."""
        ...

    def close(self) -> None:
        ...
