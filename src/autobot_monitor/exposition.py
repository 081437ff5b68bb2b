"""Prometheus text exposition (format 0.0.4) of our families, and parsing of scraped text.

Rendering goes through prometheus_client's own writer, so escaping of label values (``"``,
``\\``, newlines) and NaN/±Inf spelling are exactly what Prometheus expects. Parsing of scraped
targets uses prometheus_client's parser, then maps its families onto our model:

* a counter ``x`` -> family ``x_total`` (type counter), its ``_created`` sample dropped;
* a histogram ``x`` -> one family ``x`` (type histogram) with its ``x_bucket`` (``le`` spelled as
  Prometheus spells floats, :func:`~.model.format_le`, so ``le="1"`` and ``le="1.0"`` are one
  series), ``x_sum`` and ``x_count`` samples;
* a gauge named ``*_info`` whose samples are all 1 -> type info: format 0.0.4 has no info type,
  so info families travel as such gauges (:func:`render` writes them that way);
* a summary -> one family per sample name: the quantiles (``quantile`` spelled as ``le`` is)
  a gauge, ``_count`` and ``_sum`` counters (they only grow; :func:`render` writes them
  ``untyped``); untyped samples -> one gauge family per sample name.

Format 0.0.4 carries no unit either: a parsed family gets the unit its name ends with
(:func:`~.model.unit_of`: ``_seconds`` -> seconds, ``_bytes_total`` -> bytes...), which is the
unit every declared spec has, as names must end with their unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from .model import MetricFamily, Sample, format_le, make_labels, unit_of

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Header of a hub's scrape naming its cycle (seconds): the agent collects on that interval.
INTERVAL_HEADER = "X-Autobot-Scrape-Interval-Seconds"


def _merged(families: Iterable[MetricFamily]) -> list[MetricFamily]:
    """Families sharing a name merged into one (the format wants one block per name)."""
    merged: dict[str, MetricFamily] = {}
    for fam in families:
        if fam.name in merged:
            merged[fam.name].samples.extend(fam.samples)
        else:
            merged[fam.name] = MetricFamily(fam.name, fam.type, fam.help, fam.unit,
                                            list(fam.samples))
    return list(merged.values())


def _metric(fam: MetricFamily) -> Metric:
    """prometheus_client's Metric for ``fam`` in format 0.0.4 terms."""
    if fam.type == "counter" and fam.name.endswith("_total"):
        return Metric(fam.name[: -len("_total")], fam.help, "counter")
    if fam.type == "histogram":
        return Metric(fam.name, fam.help, "histogram")
    if fam.type in ("gauge", "info"):
        return Metric(fam.name, fam.help, "gauge")
    return Metric(fam.name, fam.help, "untyped")  # raw kernel figures; a summary's _count/_sum


class _FamiliesCollector:
    """Adapter giving prometheus_client's writer our families."""

    def __init__(self, families: Iterable[MetricFamily]):
        self._families = families

    def collect(self) -> Iterator[Metric]:
        for fam in _merged(self._families):
            m = _metric(fam)
            for s in fam.samples:
                m.add_sample(s.name, dict(s.labels), s.value)
            yield m


def render(families: Iterable[MetricFamily]) -> bytes:
    """Families as Prometheus text format 0.0.4 (UTF-8 bytes). Families sharing a name are merged
    into one block, as the format requires; info families are written as gauges."""
    out: bytes = generate_latest(_FamiliesCollector(families))
    return out


def _samples(pf: Any, keep: Iterable[str] | None = None,
             normalise: str | None = None) -> list[Sample]:
    """``pf``'s samples as ours: only those named in ``keep`` (all when None); the label named
    ``normalise`` (``le``/``quantile``) respelled by :func:`format_le` (ValueError when it is no
    number)."""
    names = None if keep is None else set(keep)
    out: list[Sample] = []
    for s in pf.samples:
        if names is not None and s.name not in names:
            continue
        labels = s.labels
        if normalise is not None and normalise in labels:
            try:
                labels = {**labels, normalise: format_le(labels[normalise])}
            except ValueError:
                raise ValueError(f"{s.name}: {normalise}={labels[normalise]!r} is no number") from None
        out.append(Sample(s.name, make_labels(labels), float(s.value), s.timestamp))
    return out


def _convert(pf: Any) -> list[MetricFamily]:
    """Our families for one parsed prometheus_client family (see the module doc)."""
    name, doc = pf.name, pf.documentation
    if pf.type == "counter":
        return [MetricFamily(name + "_total", "counter", doc, unit_of(name + "_total"),
                             _samples(pf, (name + "_total",)))]
    if pf.type == "histogram":
        keep = (name + "_bucket", name + "_sum", name + "_count")
        return [MetricFamily(name, "histogram", doc, unit_of(name), _samples(pf, keep, "le"))]
    if pf.type == "gauge":
        samples = _samples(pf)
        info = name.endswith("_info") and all(s.value == 1 for s in samples)
        return [MetricFamily(name, "info" if info else "gauge", doc,
                             "" if info else unit_of(name), samples)]
    cumulative = {name + "_count", name + "_sum"} if pf.type == "summary" else set()
    by_name: dict[str, MetricFamily] = {}
    for s in _samples(pf, None, "quantile" if pf.type == "summary" else None):
        if s.name not in by_name:
            by_name[s.name] = MetricFamily(s.name, "counter" if s.name in cumulative else "gauge",
                                           doc, unit_of(name))
        by_name[s.name].samples.append(s)
    return list(by_name.values())


def parse(text: str) -> list[MetricFamily]:
    """Parse Prometheus text exposition (format 0.0.4) into our families (see the module doc for
    how each type maps). Raises ``ValueError`` on malformed text or a bucket bound or quantile
    that is no number."""
    out: list[MetricFamily] = []
    for pf in text_string_to_metric_families(text):
        out.extend(_convert(pf))
    return out
