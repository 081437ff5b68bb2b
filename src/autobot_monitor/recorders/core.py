"""Recorders an application uses to measure its own operations, on a registry it owns.

::

    rec = Recorder()                       # its own CollectorRegistry: rec.registry
    with rec.time("db_query"):             # or: async with rec.time("fetch"):
        ...
    @rec.timed("render")                   # sync or async functions
    def render(...): ...

Each timed operation feeds three families (``autobot`` is the default namespace):

* ``autobot_operation_duration_seconds{operation}`` histogram: wall time (seconds, from
  ``time.perf_counter``) of every finished operation, failed ones included; buckets
  :data:`DEFAULT_BUCKETS` (1 ms to 60 s) unless given;
* ``autobot_operations_total{operation,status}`` counter: finished operations by outcome,
  ``ok`` on success, ``status_on_error`` (default ``error``) when the block raised, ``cancelled``
  when it was cancelled (``asyncio.CancelledError``, ``KeyboardInterrupt``), or whatever the code
  set on the timer (``t.status = "not_found"``);
* ``autobot_operations_in_progress{operation}`` gauge: operations started and not finished.

Every metric is a :class:`~.guard.GuardedMetric`: at most ``max_label_sets`` label sets each, the
rest folded or dropped and counted (see :mod:`.guard`). Names are checked against the project's
Prometheus naming rules (:func:`autobot_monitor.model.check_metric_name`) when declared.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..errors import MetricNameError
from ..model import LABEL_NAME_RE, check_metric_name
from .guard import DEFAULT_MAX_LABEL_SETS, GuardedMetric, dropped_counter

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)
"""Histogram upper bounds in seconds (``+Inf`` is added by prometheus_client): 1 ms to 1 min,
roughly 2.5x apart, so a quantile interpolated inside a bucket is off by less than the bucket."""

_NAMESPACE_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_HISTOGRAM_RESERVED = ("_bucket", "_count", "_sum", "_created", "_total", "_info")

StatusOnError = str | Callable[[BaseException], str]


class Recorder:
    """Timed operations and custom metrics of one application, registered in ``registry``.

    ``registry``: the prometheus_client ``CollectorRegistry`` to register in; None creates a new
    one (``self.registry``), so nothing leaks into prometheus_client's global registry unless you
    pass ``prometheus_client.REGISTRY``. ``namespace`` prefixes every name (``""`` for none).
    ``buckets``: default histogram upper bounds in seconds. ``max_label_sets``: cap of label sets
    per metric. ``overflow``: ``"fold"`` or ``"drop"`` (see :mod:`.guard`).

    Raises :class:`MetricNameError` for a bad namespace, or when the registry already holds the
    operation families (two recorders with one namespace on one registry).
    """

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "autobot", *,
                 buckets: Sequence[float] = DEFAULT_BUCKETS,
                 max_label_sets: int = DEFAULT_MAX_LABEL_SETS, overflow: str = "fold"):
        if namespace and not _NAMESPACE_RE.match(namespace):
            raise MetricNameError(f"invalid metric namespace {namespace!r}")
        self.registry = registry if registry is not None else CollectorRegistry()
        self.namespace = namespace
        self.buckets = tuple(buckets)
        self.max_label_sets = max_label_sets
        self.overflow = overflow
        self._metrics: dict[str, tuple[str, tuple[str, ...], GuardedMetric]] = {}
        self._lock = threading.Lock()
        self._dropped = dropped_counter(self.registry)
        self.durations = self.histogram(
            "operation_duration_seconds", "Wall time of finished operations, failed ones included.",
            ["operation"], unit="seconds")
        self.outcomes = self.counter(
            "operations_total", "Finished operations by outcome (ok, error, cancelled or custom).",
            ["operation", "status"])
        self.in_progress = self.gauge(
            "operations_in_progress", "Operations started and not yet finished.", ["operation"])

    # -- declaring metrics ------------------------------------------------------------------
    def full_name(self, name: str) -> str:
        """``name`` with the namespace prefix (``autobot_`` + name by default)."""
        return f"{self.namespace}_{name}" if self.namespace else name

    def counter(self, name: str, help: str, labelnames: Sequence[str] = (), unit: str = "") -> GuardedMetric:
        """A counter called ``namespace_name`` (``name`` must end in ``_total``). Declaring the same
        name again with the same kind and labels returns the same metric. Raises
        :class:`MetricNameError` for a bad or conflicting name."""
        return self._declare("counter", name, help, labelnames, unit, None)

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = (), unit: str = "") -> GuardedMetric:
        """A gauge called ``namespace_name``. Same rules as :meth:`counter`."""
        return self._declare("gauge", name, help, labelnames, unit, None)

    def histogram(self, name: str, help: str, labelnames: Sequence[str] = (), unit: str = "",
                  buckets: Sequence[float] | None = None) -> GuardedMetric:
        """A histogram called ``namespace_name`` with ``buckets`` (upper bounds, in ``unit``;
        default :attr:`buckets`). The name must not end in ``_bucket``/``_count``/``_sum``/
        ``_total``, nor may ``le`` be a label. Same rules as :meth:`counter`."""
        return self._declare("histogram", name, help, labelnames, unit, buckets)

    def _declare(self, kind: str, name: str, help: str, labelnames: Sequence[str], unit: str,
                 buckets: Sequence[float] | None) -> GuardedMetric:
        full = self.full_name(name)
        labels = tuple(labelnames)
        check_metric_name(full, "counter" if kind == "counter" else "gauge", unit)
        if kind == "histogram" and full.endswith(_HISTOGRAM_RESERVED):
            raise MetricNameError(f"{full}: a histogram's name must not end in "
                                  f"{'/'.join(_HISTOGRAM_RESERVED)}")
        for ln in labels:
            if not LABEL_NAME_RE.match(ln) or ln.startswith("__") or (kind == "histogram" and ln == "le"):
                raise MetricNameError(f"{full}: invalid label name {ln!r}")
        if len(set(labels)) != len(labels):
            raise MetricNameError(f"{full}: duplicate label names {list(labels)}")
        with self._lock:
            known = self._metrics.get(full)
            if known is not None:
                if known[:2] != (kind, labels):
                    raise MetricNameError(f"{full} is already declared as a {known[0]} with labels "
                                          f"{list(known[1])}")
                return known[2]
            try:
                if kind == "counter":
                    m = Counter(full, help, labels, registry=self.registry)
                elif kind == "gauge":
                    m = Gauge(full, help, labels, registry=self.registry)
                else:
                    m = Histogram(full, help, labels, registry=self.registry,
                                  buckets=tuple(buckets) if buckets is not None else self.buckets)
            except ValueError as e:  # duplicate in the registry, bad buckets
                raise MetricNameError(f"{full}: {e}") from None
            g = GuardedMetric(m, full, labels, self.max_label_sets, self.overflow, self._dropped)
            self._metrics[full] = (kind, labels, g)
            return g

    def declared(self) -> list[tuple[str, str]]:
        """``[(exposition name, kind)]`` of every metric declared so far; kind is ``counter``,
        ``gauge`` or ``histogram``; counters end in ``_total``."""
        with self._lock:
            return [(name, v[0]) for name, v in self._metrics.items()]

    # -- timed operations -------------------------------------------------------------------
    def time(self, operation: str, status_on_error: StatusOnError = "error") -> Timer:
        """A timer for one run of ``operation``: ``with``/``async with`` it (not reusable).
        ``status_on_error`` is the outcome when the block raises: a string, or a function of the
        exception returning one. Set ``timer.status`` inside the block for a custom outcome."""
        return Timer(self, str(operation), status_on_error)

    def timed(self, operation: str | None = None, status_on_error: StatusOnError = "error"):
        """Decorator timing every call of a sync or async function as ``operation`` (default: the
        function's ``__qualname__``)."""

        def deco(fn):
            op = operation or fn.__qualname__
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def awrapper(*a, **kw):
                    async with Timer(self, op, status_on_error):
                        return await fn(*a, **kw)
                return awrapper

            @functools.wraps(fn)
            def wrapper(*a, **kw):
                with Timer(self, op, status_on_error):
                    return fn(*a, **kw)
            return wrapper

        return deco

    def declare(self, operation: str, statuses: Sequence[str] = ("ok", "error")) -> None:
        """Create ``operation``'s series at zero before the first run, so a scraper sees the first
        operations as an increase (best practice for known label values)."""
        self.durations.labels(operation)
        self.in_progress.labels(operation)
        for s in statuses:
            self.outcomes.labels(operation, s)


class Timer:
    """One timed run of an operation; a sync and async context manager. ``status`` (settable)
    is the outcome recorded on a normal exit; ``seconds`` is the measured wall time after exit
    (None before)."""

    __slots__ = ("_rec", "operation", "status", "_on_error", "_t0", "_gauge", "seconds")

    def __init__(self, rec: Recorder, operation: str, status_on_error: StatusOnError):
        self._rec = rec
        self.operation = operation
        self.status = "ok"
        self._on_error = status_on_error
        self._t0: float | None = None
        self._gauge = None
        self.seconds: float | None = None

    def _start(self) -> None:
        if self._t0 is not None:
            raise RuntimeError("a Timer times one run; call Recorder.time() again")
        self._gauge = self._rec.in_progress.labels(self.operation)
        self._gauge.inc()
        self._t0 = time.perf_counter()

    def _finish(self, exc: BaseException | None) -> None:
        self.seconds = time.perf_counter() - (self._t0 or 0.0)
        self._gauge.dec()
        if exc is None:
            status = self.status
        elif isinstance(exc, Exception):
            status = self._on_error(exc) if callable(self._on_error) else self._on_error
        else:
            status = "cancelled"
        self._rec.durations.labels(self.operation).observe(self.seconds)
        self._rec.outcomes.labels(self.operation, status).inc()

    def __enter__(self) -> Timer:
        self._start()
        return self

    def __exit__(self, et, exc, tb) -> bool:
        self._finish(exc)
        return False

    async def __aenter__(self) -> Timer:
        self._start()
        return self

    async def __aexit__(self, et, exc, tb) -> bool:
        self._finish(exc)
        return False
