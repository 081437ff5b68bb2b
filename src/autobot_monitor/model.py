"""Prometheus-shaped data model shared by every layer.

A :class:`Sample` is one (metric name, labels, value) reading; samples come grouped in a typed
:class:`MetricFamily` (gauge, counter or info) with help text and unit. Collectors yield families,
the agent exposes them, the hub stores them, the API serves them. Nothing downstream parses text
that upstream produced for people.

Names follow Prometheus rules: ``^[a-zA-Z_:][a-zA-Z0-9_:]*$``, base units (seconds, bytes),
``_total`` on counters, ``_info`` on info families. They are checked when a
:class:`MetricSpec` is declared, so a bad name fails at import time, not at scrape time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import MetricNameError

MetricType = Literal["gauge", "counter", "info"]

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
    out = []
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

    ``type`` is ``gauge``, ``counter`` (name ends in ``_total``) or ``info`` (name ends in
    ``_info``, value always 1). ``unit`` is a base unit word (``seconds``, ``bytes``,
    ``percent``, ``celsius``, ``ratio``...) or ``""``.
    """

    name: str
    type: MetricType
    help: str
    unit: str = ""
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, labels: Mapping[str, str] | None = None,
            timestamp: float | None = None) -> None:
        """Append a sample with this family's name. ``value`` is converted to float."""
        self.samples.append(Sample(self.name, make_labels(labels), float(value), timestamp))

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
        """JSON-safe dict: NaN and ±Inf become ``None`` (JSON has no such numbers)."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "unit": self.unit,
            "samples": [
                {"labels": dict(s.labels), "value": json_number(s.value)} for s in self.samples
            ],
        }


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
        return MetricFamily(self.name, self.type, self.help, self.unit)


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


def check_metric_name(name: str, type_: str, unit: str = "") -> None:
    """Raise :class:`MetricNameError` unless ``name`` is a valid Prometheus metric name that fits
    its type (``_total`` for counters, ``_info`` for info) and ends with its unit."""
    if not METRIC_NAME_RE.match(name):
        raise MetricNameError(f"invalid metric name {name!r}")
    if type_ not in ("gauge", "counter", "info"):
        raise MetricNameError(f"{name}: unknown metric type {type_!r}")
    if type_ == "counter" and not name.endswith("_total"):
        raise MetricNameError(f"{name}: counter names end with _total")
    if type_ != "counter" and name.endswith("_total"):
        raise MetricNameError(f"{name}: only counters end with _total")
    if type_ == "info" and not name.endswith("_info"):
        raise MetricNameError(f"{name}: info names end with _info")
    if unit:
        suffixes = _UNIT_SUFFIXES.get(unit)
        if suffixes is None:
            raise MetricNameError(f"{name}: unknown unit {unit!r}")
        if not name.endswith(suffixes):
            raise MetricNameError(f"{name}: unit {unit} needs a name ending in {suffixes[0]}")


def find_samples(families: Iterable[MetricFamily], name: str,
                 **match: str) -> list[Sample]:
    """All samples called ``name`` whose labels include every ``match`` pair."""
    out = []
    for fam in families:
        if fam.name != name:
            continue
        for s in fam.samples:
            d = s.labels
            if all((k, v) in d for k, v in match.items()):
                out.append(s)
    return out
