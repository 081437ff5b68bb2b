"""Prometheus text exposition (format 0.0.4) of our families, and parsing of scraped text.

Rendering goes through prometheus_client's own writer, so escaping of label values (``"``,
``\\``, newlines) and NaN/±Inf spelling are exactly what Prometheus expects. Parsing of scraped
targets uses prometheus_client's parser.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from .model import MetricFamily, Sample, make_labels

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Header of a hub's scrape naming its cycle (seconds): the agent collects on that interval.
INTERVAL_HEADER = "X-Autobot-Scrape-Interval-Seconds"


class _FamiliesCollector:
    """Adapter giving prometheus_client's writer our families."""

    def __init__(self, families: Iterable[MetricFamily]):
        self._families = families

    def collect(self):
        merged: dict[str, MetricFamily] = {}
        order: list[str] = []
        for fam in self._families:
            if fam.name in merged:
                merged[fam.name].samples.extend(fam.samples)
            else:
                merged[fam.name] = MetricFamily(fam.name, fam.type, fam.help, fam.unit,
                                                list(fam.samples))
                order.append(fam.name)
        for name in order:
            fam = merged[name]
            if fam.type == "counter" and name.endswith("_total"):
                m = Metric(name[: -len("_total")], fam.help, "counter")
            elif fam.type == "counter":  # a histogram's _bucket/_count/_sum parsed from a target
                m = Metric(name, fam.help, "untyped")
            elif fam.type == "info":
                m = Metric(name, fam.help, "gauge")
            else:
                m = Metric(name, fam.help, fam.type if fam.type in ("gauge",) else "untyped")
            for s in fam.samples:
                m.add_sample(s.name, dict(s.labels), s.value)
            yield m


def render(families: Iterable[MetricFamily]) -> bytes:
    """Families as Prometheus text format 0.0.4 (UTF-8 bytes). Families sharing a name are merged
    into one block, as the format requires."""
    return generate_latest(_FamiliesCollector(families))  # type: ignore[arg-type]


def parse(text: str) -> list[MetricFamily]:
    """Parse Prometheus text exposition into families. Histogram and summary families are split
    into one family per raw sample name: ``_bucket`` (with its ``le`` label), ``_count`` and ``_sum``
    are typed ``counter`` although their names do not end in ``_total`` (they only grow, so the
    store keeps their last value per step instead of averaging; :func:`render` exposes them
    ``untyped``); a summary's quantile samples and ``_created`` are gauges. Counters keep their
    ``_total`` sample name. Raises ``ValueError`` on malformed text."""
    out = []
    for pf in text_string_to_metric_families(text):
        if pf.type == "counter":
            fam = MetricFamily(pf.name + "_total", "counter", pf.documentation)
            names = {pf.name + "_total"}
        else:
            fam = MetricFamily(pf.name, "gauge", pf.documentation)
            names = None
        for s in pf.samples:
            if names is not None and s.name not in names:
                continue  # _created samples of counters
            fam.samples.append(Sample(s.name, make_labels(s.labels), float(s.value), s.timestamp))
        if pf.type == "histogram" or pf.type == "summary" or pf.type == "unknown":
            # keep the raw sample names; split into one family per sample name
            by_name: dict[str, MetricFamily] = {}
            cumulative = ({pf.name + "_bucket", pf.name + "_count", pf.name + "_sum"}
                          if pf.type in ("histogram", "summary") else set())
            for s in fam.samples:
                type_ = "counter" if s.name in cumulative else "gauge"
                by_name.setdefault(s.name, MetricFamily(s.name, type_, pf.documentation)).samples.append(s)
            out.extend(by_name.values())
        else:
            out.append(fam)
    return out
