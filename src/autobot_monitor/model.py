"""Prometheus-shaped data model shared by every layer.

A :class:`Sample` is one (metric name, labels, value) reading; samples come grouped in a typed
:class:`MetricFamily` (gauge, counter, info, histogram or untyped) with help text, unit and, when it was
declared by a :class:`MetricSpec`, its label names (checked on every :meth:`MetricFamily.add`). Collectors yield families,
the agent exposes them, the hub stores them, the API serves them. Nothing downstream parses text
that upstream produced for people.

Names follow Prometheus rules: ``^[a-zA-Z_:][a-zA-Z0-9_:]*$``, base units (seconds, bytes),
``_total`` on counters, ``_info`` on info families; a histogram ``x`` has samples ``x_bucket``
(with an ``le`` label, spelled as Prometheus spells floats: :func:`format_le`), ``x_sum`` and
``x_count``. They are checked when a
:class:`MetricSpec` is declared, so a bad name fails at import time, not at scrape time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client.utils import floatToGoString

from .errors import MetricNameError

MetricType = Literal["gauge", "counter", "info", "histogram", "untyped"]
METRIC_TYPES: tuple[MetricType, ...] = ("gauge", "counter", "info", "histogram", "untyped")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# prometheus_client's float spelling (Go's), the one Prometheus normalises ``le`` to
_go_float: Callable[[float], str] = floatToGoString

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Labels = tuple[tuple[str, str], ...]


def make_labels(labels: Mapping[str, str] | None) -> Labels:
    """Return ``labels`` as a sorted tuple of (name, value) pairs; values are coerced to str.

    Raises :class:`MetricNameError` for a label name that is not a valid Prometheus label name or
    that starts with ``__`` (reserved).
    """
    if not labels:
        return ()
    out: list[tuple[str, str]] = []
    for k, v in labels.items():
        if not LABEL_NAME_RE.match(k) or k.startswith("__"):
            raise MetricNameError(f"invalid label name {k!r}")
        out.append((k, str(v)))
    out.sort()
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: ``name`` (the exposition name), ``labels`` (sorted pairs), ``value`` (float,
    may be NaN or ±Inf), ``timestamp`` (Unix seconds, wall clock; None means "now" to a scraper)."""

    name: str
    labels: Labels
    value: float
    timestamp: float | None = None

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(slots=True)
class MetricFamily:
    """A typed group of samples sharing one name, help text and unit.

    ``type`` is ``gauge``, ``counter`` (name ends in ``_total``), ``info`` (name ends in
    ``_info``, value always 1), ``histogram`` (samples ``<name>_bucket`` with ``le``,
    ``<name>_sum``, ``<name>_count``; see :meth:`add_histogram`) or ``untyped`` (a raw kernel
    figure node_exporter exposes without a type, such as ``node_netstat_*`` and
    ``node_vmstat_*``: counters or gauges depending on the field; stored and queried as gauges). ``unit`` is a base unit word
    (``seconds``, ``bytes``, ``percent``, ``celsius``, ``ratio``...) or ``""``.
    ``label_names``: the declared label names every sample must carry (exactly those, plus
    ``le`` on a histogram's buckets), or None for a family whose labels were not declared (one
    parsed from a scrape, or relabelled by the hub).
    """

    name: str
    type: MetricType
    help: str
    unit: str = ""
    samples: list[Sample] = field(default_factory=list)
    label_names: tuple[str, ...] | None = None

    def check_labels(self, labels: Mapping[str, str] | None) -> None:
        """Raise ``ValueError`` (:class:`MetricNameError`) naming this metric and the extra and
        missing label names unless ``labels`` has exactly the declared :attr:`label_names`
        (nothing is checked when they are None)."""
        if self.label_names is None:
            return
        got = set(labels or ())
        want = set(self.label_names)
        if got != want:
            extra, missing = sorted(got - want), sorted(want - got)
            raise MetricNameError(
                f"{self.name}: labels do not match the declared {list(self.label_names)}"
                + (f"; undeclared: {extra}" if extra else "")
                + (f"; missing: {missing}" if missing else ""))

    def add(self, value: float, labels: Mapping[str, str] | None = None,
            timestamp: float | None = None) -> None:
        """Append a sample with this family's name. ``value`` is converted to float. Raises
        ``ValueError`` when ``labels`` do not match the declared label names (see
        :meth:`check_labels`) or for a histogram (use :meth:`add_histogram`).

        Label names are checked once per (declared names, given names in order): later samples
        with the same names only have their values sorted into place (:func:`_label_order`)."""
        if self.type == "histogram":
            raise MetricNameError(f"{self.name}: a histogram's samples go in with add_histogram")
        if not labels:
            if self.label_names:
                self.check_labels(labels)  # raises: declared names missing
            self.samples.append(Sample(self.name, (), float(value), timestamp))
            return
        keys = tuple(labels)
        order = _ORDERS.get((self.label_names, keys))
        if order is None:
            order = _label_order(self, labels, keys)
        self.samples.append(Sample(self.name, tuple([(keys[i], str(labels[keys[i]]))
                                                     for i in order]), float(value), timestamp))

    def add_histogram(self, buckets: Iterable[tuple[float, float]], sum_value: float,
                      count: float, labels: Mapping[str, str] | None = None,
                      timestamp: float | None = None) -> None:
        """Append one histogram: ``buckets`` as (upper bound, cumulative count) pairs in
        ascending bound order (a ``+Inf`` bucket holding ``count`` is added when missing), the
        ``sum_value`` of the observations (in :attr:`unit`) and their ``count``. Raises
        ``ValueError`` for a family that is not a histogram, bounds not ascending, or labels
        that do not match the declared ones."""
        if self.type != "histogram":
            raise MetricNameError(f"{self.name}: add_histogram on a {self.type}")
        self.check_labels(labels)
        base = make_labels(labels)
        prev = -math.inf
        for le, n in buckets:
            if not float(le) > prev:
                raise MetricNameError(f"{self.name}: bucket bounds must ascend, got {le} after {prev}")
            prev = float(le)
            self.samples.append(Sample(self.name + "_bucket", _with_le(base, le), float(n),
                                       timestamp))
        if prev != math.inf:
            self.samples.append(Sample(self.name + "_bucket", _with_le(base, math.inf),
                                       float(count), timestamp))
        self.samples.append(Sample(self.name + "_sum", base, float(sum_value), timestamp))
        self.samples.append(Sample(self.name + "_count", base, float(count), timestamp))

    def with_labels(self, extra: Mapping[str, str]) -> MetricFamily:
        """Return a copy whose samples carry ``extra`` labels too (existing keys win)."""
        extra_l = make_labels(extra)
        fam = MetricFamily(self.name, self.type, self.help, self.unit)
        for s in self.samples:
            d = dict(extra_l)
            d.update(s.labels)
            fam.samples.append(Sample(s.name, tuple(sorted(d.items())), s.value, s.timestamp))
        return fam

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict: NaN and ±Inf become ``None`` (JSON has no such numbers). A
        histogram's samples also carry their ``name`` (``x_bucket``, ``x_sum``, ``x_count``)."""
        hist = self.type == "histogram"
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "unit": self.unit,
            "samples": [
                {**({"name": s.name} if hist else {}), "labels": dict(s.labels),
                 "value": json_number(s.value)} for s in self.samples
            ],
        }


_ORDERS: dict[tuple[tuple[str, ...] | None, tuple[str, ...]], tuple[int, ...]] = {}
_ORDERS_MAX = 4096  # distinct label-name tuples remembered; a full cache is emptied


def _label_order(fam: MetricFamily, labels: Mapping[str, str], keys: tuple[str, ...]
                 ) -> tuple[int, ...]:
    """Check ``labels`` (names given in the order ``keys``) against ``fam``'s declared names and
    the label-name rules (raises ``ValueError`` as :meth:`MetricFamily.check_labels` and
    :func:`make_labels` do); return and remember the positions of ``keys`` in sorted order."""
    fam.check_labels(labels)
    make_labels(labels)
    order = tuple(sorted(range(len(keys)), key=keys.__getitem__))
    if len(_ORDERS) >= _ORDERS_MAX:
        _ORDERS.clear()
    _ORDERS[(fam.label_names, keys)] = order
    return order


def format_le(bound: float | str) -> str:
    """A bucket bound as Prometheus spells it (``1`` and ``1.0`` -> ``"1.0"``, ``1e6`` ->
    ``"1e+06"``, infinity -> ``"+Inf"``), so one bucket is one series whatever the target wrote.
    Raises ``ValueError`` for text that is not a number."""
    return _go_float(float(bound))


def _with_le(base: Labels, le: float | str) -> Labels:
    return tuple(sorted((*base, ("le", format_le(le)))))


def is_cumulative(family_type: str, sample_name: str) -> bool:
    """True for samples that only grow between resets: a counter's, and a histogram's
    ``_bucket``/``_sum``/``_count`` (stored and rated as counters)."""
    return family_type == "counter" or (family_type == "histogram"
                                        and sample_name.endswith(HISTOGRAM_SUFFIXES))


def family_name(family_type: str, sample_name: str) -> str:
    """The family a sample belongs to: ``x`` for a histogram's ``x_bucket``/``x_sum``/
    ``x_count``, the sample name itself otherwise."""
    if family_type == "histogram":
        for sfx in HISTOGRAM_SUFFIXES:
            if sample_name.endswith(sfx):
                return sample_name[: -len(sfx)]
    return sample_name


def json_number(v: float) -> float | None:
    """``v`` unless it is NaN or infinite, then ``None``."""
    return v if math.isfinite(v) else None


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN/±Inf float (in dicts, lists and tuples, at any depth) replaced by
    ``None``: JSON has no such numbers, and a non-finite figure is no figure. Tuples become
    lists; other values are returned as they are."""
    if isinstance(obj, float):
        return json_number(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """Declared metadata of one metric family: the single source for name, type, help, unit and
    label names. Collectors create families through :meth:`family`, and the test suite checks that
    every family a collector emits was declared (see ``declared_specs``).

    Raises :class:`MetricNameError` on construction for names that break Prometheus conventions.
    """

    name: str
    type: MetricType
    help: str
    unit: str = ""
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_metric_name(self.name, self.type, self.unit)
        for ln in self.labels:
            if not LABEL_NAME_RE.match(ln) or ln.startswith("__"):
                raise MetricNameError(f"{self.name}: invalid label name {ln!r}")

    def family(self) -> MetricFamily:
        """An empty family of this spec, carrying its label names (checked on ``add``)."""
        return MetricFamily(self.name, self.type, self.help, self.unit, label_names=self.labels)


_UNIT_SUFFIXES = {
    "seconds": ("_seconds", "_seconds_total"),
    "bytes": ("_bytes", "_bytes_total"),
    "percent": ("_percent",),
    "celsius": ("_celsius",),
    "ratio": ("_ratio",),
    "watts": ("_watts",),
    "joules": ("_joules", "_joules_total"),
    "hertz": ("_hertz",),
    "rpm": ("_rpm",),
    "bytes_per_second": ("_bytes_per_second",),
}


def unit_of(name: str) -> str:
    """The unit a metric name ends with (``x_seconds``, ``x_seconds_total`` -> ``seconds``), or
    ``""``: the inverse of the suffix rule :func:`check_metric_name` enforces, for families that
    arrive without a unit (Prometheus text format 0.0.4 has none)."""
    best = ""
    for unit, suffixes in _UNIT_SUFFIXES.items():
        if name.endswith(suffixes) and len(unit) > len(best):
            best = unit
    return best


def check_metric_name(name: str, type_: str, unit: str = "") -> None:
    """Raise :class:`MetricNameError` unless ``name`` is a valid Prometheus metric name that fits
    its type (``_total`` for counters, ``_info`` for info) and ends with its unit."""
    if not METRIC_NAME_RE.match(name):
        raise MetricNameError(f"invalid metric name {name!r}")
    if type_ not in METRIC_TYPES:
        raise MetricNameError(f"{name}: unknown metric type {type_!r}")
    if type_ == "counter" and not name.endswith("_total"):
        raise MetricNameError(f"{name}: counter names end with _total")
    if type_ != "counter" and name.endswith("_total"):
        raise MetricNameError(f"{name}: only counters end with _total")
    if type_ == "info" and not name.endswith("_info"):
        raise MetricNameError(f"{name}: info names end with _info")
    if type_ == "histogram" and name.endswith((*HISTOGRAM_SUFFIXES, "_info")):
        raise MetricNameError(f"{name}: a histogram's name must not end in _bucket, _sum, "
                              "_count or _info")
    if unit:
        suffixes = _UNIT_SUFFIXES.get(unit)
        if suffixes is None:
            raise MetricNameError(f"{name}: unknown unit {unit!r}")
        if not name.endswith(suffixes):
            raise MetricNameError(f"{name}: unit {unit} needs a name ending in {suffixes[0]}")


def find_samples(families: Iterable[MetricFamily], name: str,
                 **match: str) -> list[Sample]:
    """All samples called ``name`` (a histogram's ``x_bucket`` too) whose labels include every
    ``match`` pair."""
    out: list[Sample] = []
    for fam in families:
        if not name.startswith(fam.name):
            continue
        for s in fam.samples:
            d = s.labels
            if s.name == name and all((k, v) in d for k, v in match.items()):
                out.append(s)
    return out
