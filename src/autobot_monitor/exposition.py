"""Prometheus text exposition (format 0.0.4) of our families, and parsing of scraped text.

Rendering writes exactly the bytes prometheus_client's own writer (``generate_latest``) writes,
so escaping of label values (``"``, ``\\``, newlines) and NaN/±Inf spelling are what Prometheus
expects; it writes them itself, with header and label text cached, at a fraction of the cost.
Parsing of scraped targets uses prometheus_client's parser, then maps its families onto our model:

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

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.openmetrics.exposition import (
    UNDERSCORES,
    escape_label_name,
    escape_metric_name,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from .model import Labels, MetricFamily, Sample, format_le, make_labels, unit_of

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Header of a hub's scrape naming its cycle (seconds): the agent collects on that interval.
INTERVAL_HEADER = "X-Autobot-Scrape-Interval-Seconds"


_go_float: Callable[[float], str] = floatToGoString  # Go's float spelling, as Prometheus writes
_CACHE_MAX = 1 << 15  # entries per cache below; a full cache is emptied (bounded memory)
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")
# (name, type, help) -> (HELP and TYPE lines, prometheus_client's metric name)
_HEADERS: dict[tuple[str, str, str], tuple[str, str]] = {}
# (sample name, labels) -> 'name{k="v",...} '
_PREFIXES: dict[tuple[str, Labels], str] = {}


def _metric(fam: MetricFamily) -> Metric:
    """prometheus_client's Metric for ``fam`` in format 0.0.4 terms."""
    if fam.type == "counter" and fam.name.endswith("_total"):
        return Metric(fam.name[: -len("_total")], fam.help, "counter")
    if fam.type == "histogram":
        return Metric(fam.name, fam.help, "histogram")
    if fam.type in ("gauge", "info"):
        return Metric(fam.name, fam.help, "gauge")
    return Metric(fam.name, fam.help, "untyped")  # raw kernel figures; a summary's _count/_sum


def _header_lines(name: str, doc: str, type_: str) -> str:
    """``# HELP`` and ``# TYPE`` lines (help escaped: backslash, line feed)."""
    name = escape_metric_name(name, UNDERSCORES)
    doc = doc.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {type_}\n"


def _header(fam: MetricFamily) -> tuple[str, str]:
    """Header lines of ``fam``'s block and prometheus_client's name of its metric (a counter's
    without ``_total``); cached. Raises ``ValueError`` for a name prometheus_client refuses."""
    key = (fam.name, fam.type, fam.help)
    hit = _HEADERS.get(key)
    if hit is None:
        m = _metric(fam)
        type_ = "untyped" if m.type == "unknown" else m.type
        shown = m.name + "_total" if m.type == "counter" else m.name
        hit = (_header_lines(shown, m.documentation, type_), m.name)
        if len(_HEADERS) >= _CACHE_MAX:
            _HEADERS.clear()
        _HEADERS[key] = hit
    return hit


def _prefix(name: str, labels: Labels) -> str:
    """``name{k="v",...} `` as format 0.0.4 writes it: labels sorted (a repeated name: the last
    value), values escaped (backslash, double quote, line feed); cached."""
    hit = _PREFIXES.get((name, labels))
    if hit is None:
        d = dict(labels)
        inner = ",".join(
            '{}="{}"'.format(escape_label_name(k, UNDERSCORES),
                             v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"'))
            for k, v in sorted(d.items()))
        hit = escape_metric_name(name, UNDERSCORES) + (f"{{{inner}}} " if d else " ")
        if len(_PREFIXES) >= _CACHE_MAX:
            _PREFIXES.clear()
        _PREFIXES[(name, labels)] = hit
    return hit


def _line(s: Sample) -> str:
    """One sample line: prefix and value as Go spells it (``+Inf``, ``-Inf``, ``NaN``,
    ``1e+06``); no timestamp (the scraper stamps the scrape)."""
    v = s.value if type(s.value) is float else float(s.value)
    text = repr(v)
    if text[-1] in "fn" or (v > 0 and text.find(".") > 6):  # inf, nan, or Go's exponent form
        text = _go_float(v)
    return f"{_prefix(s.name, s.labels)}{text}\n"


def render(families: Iterable[MetricFamily]) -> bytes:
    """Families as Prometheus text format 0.0.4 (UTF-8 bytes), byte for byte what
    prometheus_client's ``generate_latest`` writes for them (tests/test_exposition.py compares
    the two), without building its objects: header lines and label text are cached per family
    and per series. Families sharing a name are merged into one block (first one's type and
    help), as the format requires; info families are written as gauges. Raises ``ValueError``
    for a metric name prometheus_client refuses."""
    blocks: dict[str, list[MetricFamily]] = {}
    for fam in families:
        blocks.setdefault(fam.name, []).append(fam)
    out: list[str] = []
    for same in blocks.values():
        head, mname = _header(same[0])
        out.append(head)
        late: dict[str, list[str]] = {}  # OpenMetrics-only samples: own gauges after the block
        for fam in same:
            for s in fam.samples:
                sfx = s.name[len(mname):] if s.name.startswith(mname) else ""
                if sfx in _OM_SUFFIXES:
                    late.setdefault(sfx, []).append(_line(s))
                else:
                    out.append(_line(s))
        for sfx, lines in sorted(late.items()):
            out.append(_header_lines(mname + sfx, same[0].help, "gauge"))
            out.extend(lines)
    return "".join(out).encode("utf-8")


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
