"""Redaction of personal data in metrics before the hub stores or shows them.

``privacy.redact_process_names`` (regular expressions, see
:class:`~.config.security.PrivacyConfig`) apply to the ``name`` label of every
``autobot_process_*`` sample: each match is replaced by ``***``. The hub applies
:func:`redact_process_names` to what it collects locally and to what it scrapes from agents,
before summaries, alert evaluation, the store, the API and the exposition see them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import MetricFamily, Sample
from .regex import compile_regex

MASK = "***"
PREFIX = "autobot_process_"


def compile_patterns(patterns: Sequence[str]) -> list:
    """Patterns -> compiled RE2 regexes (unanchored: each match inside a name is masked; ``.``
    does not match newline). Raises :class:`~.regex.RegexError` (see :mod:`.regex`)."""
    return [compile_regex(p, dot_nl=False) for p in patterns]


def redact_name(name: str, patterns: Sequence) -> str:
    for p in patterns:
        try:
            name = p.sub(MASK, name)
        except UnicodeEncodeError:  # a lone surrogate: redact its replacement character
            name = p.sub(MASK, name.encode("utf-8", "replace").decode("utf-8"))
    return name


def redact_process_names(fams: list[MetricFamily], patterns: Sequence) -> list[MetricFamily]:
    """``fams`` with the ``name`` label of ``autobot_process_*`` samples redacted (other families
    are returned as they are; nothing is copied when ``patterns`` is empty)."""
    if not patterns:
        return fams
    out = []
    for f in fams:
        if not f.name.startswith(PREFIX):
            out.append(f)
            continue
        g = MetricFamily(f.name, f.type, f.help, f.unit)
        for s in f.samples:
            labels = tuple((k, redact_name(v, patterns) if k == "name" else v) for k, v in s.labels)
            g.samples.append(Sample(s.name, labels, s.value, s.timestamp))
        out.append(g)
    return out
