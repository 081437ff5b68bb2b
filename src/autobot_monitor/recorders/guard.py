"""Label cardinality guard: a cap on the label sets one metric may create.

A metric whose label values come from the outside world (an operation name derived from a URL, a
model name from a request) can create series without bound and exhaust the application's memory
and every Prometheus downstream. :class:`GuardedMetric` wraps a prometheus_client metric and admits
at most ``cap`` distinct label sets; a further one is either folded into a single overflow series
(every label value :data:`OVERFLOW`, mode ``"fold"``, the default: totals stay right, detail is
lost) or dropped (mode ``"drop"``: the observation is discarded). Either way the library's own
counter ``autobot_recorder_dropped_label_sets_total{metric}`` counts it.

Memory stays bounded: the guard remembers admitted label sets only (at most ``cap``), not refused
ones, so a refused label set counts once per observation, not once per distinct set.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter

from ..errors import MetricNameError

OVERFLOW = "__overflow__"
DROPPED_NAME = "autobot_recorder_dropped_label_sets_total"
DEFAULT_MAX_LABEL_SETS = 1000
MODES = ("fold", "drop")

_dropped_lock = threading.Lock()
_dropped_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = (
    weakref.WeakKeyDictionary())


def dropped_counter(registry: CollectorRegistry) -> Counter:
    """The ``autobot_recorder_dropped_label_sets_total{metric}`` counter of ``registry``, created
    once per registry (several recorders may share one registry). Raises
    :class:`MetricNameError` when something else already registered that name there."""
    with _dropped_lock:
        c = _dropped_by_registry.get(registry)
        if c is None:
            try:
                c = Counter(DROPPED_NAME, "Observations whose label set was refused by a recorder's "
                            "cardinality cap (folded into the overflow series or dropped), per "
                            "metric.", ["metric"], registry=registry)
            except ValueError as e:
                raise MetricNameError(f"{DROPPED_NAME}: {e}") from None
            _dropped_by_registry[registry] = c
        return c


class _NullChild:
    """Stands in for a dropped label set: every update is a no-op."""

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


NULL_CHILD = _NullChild()


class GuardedMetric:
    """A prometheus_client ``Counter``/``Gauge``/``Histogram`` with a cap of ``cap`` label sets.

    ``metric`` is the wrapped metric (``.metric`` gives it back), ``name`` its exposition name
    (used as the ``metric`` label of the dropped counter), ``labelnames`` its label names. Use
    :meth:`labels` exactly like prometheus_client's; an unlabelled metric's :meth:`labels` returns
    the metric itself. Thread-safe.
    """

    def __init__(self, metric, name: str, labelnames: Sequence[str], cap: int, mode: str,
                 dropped: Counter):
        if cap < 1:
            raise ValueError(f"{name}: the label set cap must be at least 1, got {cap}")
        if mode not in MODES:
            raise ValueError(f"{name}: overflow mode must be one of {MODES}, got {mode!r}")
        self.metric = metric
        self.name = name
        self.labelnames = tuple(labelnames)
        self.cap = cap
        self.mode = mode
        self._admitted: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._dropped = dropped.labels(metric=name)
        self._overflow = (OVERFLOW,) * len(self.labelnames)

    @property
    def label_sets(self) -> int:
        """How many distinct label sets were admitted (the overflow series not included)."""
        return len(self._admitted)

    def labels(self, *values: object, **kw: object):
        """The child for these label values (positional in ``labelnames`` order, or by name).
        Values are turned into ``str``. Over the cap: the overflow child (``fold``) or a no-op
        child (``drop``). Raises ``ValueError`` for missing or unknown label names."""
        if not self.labelnames:
            if values or kw:
                raise ValueError(f"{self.name} has no labels")
            return self.metric
        if kw:
            if values:
                raise ValueError(f"{self.name}: give label values by position or by name, not both")
            if set(kw) != set(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {list(self.labelnames)}, "
                                 f"got {sorted(kw)}")
            key = tuple(str(kw[n]) for n in self.labelnames)
        else:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected {len(self.labelnames)} label values "
                                 f"({', '.join(self.labelnames)}), got {len(values)}")
            key = tuple(str(v) for v in values)
        if key not in self._admitted:
            with self._lock:
                if key not in self._admitted:
                    if len(self._admitted) >= self.cap:
                        self._dropped.inc()
                        if self.mode == "drop":
                            return NULL_CHILD
                        key = self._overflow
                    else:
                        self._admitted.add(key)
        return self.metric.labels(*key)
