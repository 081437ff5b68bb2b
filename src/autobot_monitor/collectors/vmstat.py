"""Virtual memory statistics from ``/proc/vmstat``, exported like node_exporter's ``vmstat``
collector."""

from __future__ import annotations

import math

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext
from .procutil import MAX_FILE_BYTES, DynamicSpecs, field_filter

#: node_exporter 1.5's ``--collector.vmstat.fields`` default.
DEFAULT_FIELDS = r"^(oom_kill|pgpg|pswp|pg.*fault).*"

_COMMON = ("oom_kill", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout")


def _help(key: str) -> str:
    return f"/proc/vmstat information field {key}."


class VmstatCollector(Collector):
    """Emits ``node_vmstat_<field>`` (untyped, no labels, the raw figure: most are event
    counters since boot, ``pgpgin``/``pgpgout`` in KiB, the rest in pages or events) for each
    ``<field> <value>`` line of ``/proc/vmstat`` whose field matches the ``fields`` option (an
    RE2 expression, searched; default :data:`DEFAULT_FIELDS`, node_exporter 1.5's). A
    missing file emits nothing; a line that is not ``name integer`` is skipped. Never raises
    for odd input.
    """

    name = "vmstat"
    isolate = False
    DYNAMIC_PREFIXES = ("node_vmstat_",)
    SPECS = tuple(MetricSpec(f"node_vmstat_{k}", "untyped", _help(k)) for k in _COMMON)

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._match = field_filter(self.options.get("fields"), DEFAULT_FIELDS, "vmstat")
        self._specs = DynamicSpecs(self.SPECS, "untyped", _help)

    def collect(self) -> list[MetricFamily]:
        text = self.files.read_bounded(self.ctx.proc("vmstat"), MAX_FILE_BYTES)
        if text is None:
            return []
        out: dict[str, MetricFamily] = {}
        for line in text.splitlines():
            fields = line.split()
            if len(fields) != 2 or not self._match(fields[0]):
                continue
            try:
                v = float(fields[1])
            except ValueError:
                continue
            name = f"node_vmstat_{fields[0]}"
            spec = self._specs.get(name, fields[0])
            if spec is None or name in out or not math.isfinite(v):
                continue
            fam = spec.family()
            fam.add(v)
            out[name] = fam
        return list(out.values())
