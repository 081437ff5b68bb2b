"""Memory and swap figures from ``/proc/meminfo``."""

from __future__ import annotations

import re

from ..errors import CollectorError, MetricNameError
from ..model import MetricFamily, MetricSpec
from .base import Collector

_PARENS = re.compile(r"\((.*)\)")

_COMMON_BYTES = (
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active_anon", "Inactive_anon", "Active_file", "Inactive_file", "Unevictable",
    "Mlocked", "SwapTotal", "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem",
    "KReclaimable", "Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables",
    "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed", "AnonHugePages", "Hugepagesize",
)
_COMMON_PLAIN = ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp")


def metric_key(field: str) -> str:
    """node_exporter's key for a meminfo field: ``Active(anon)`` -> ``Active_anon``."""
    return _PARENS.sub(r"_\1", field)


def _spec(name: str, key: str, unit: str) -> MetricSpec:
    return MetricSpec(name, "gauge", f"Memory information field {key}{'_bytes' if unit else ''}.",
                      unit)


class MemoryCollector(Collector):
    """Reads ``/proc/meminfo`` and exports every field the way node_exporter does.

    A field in ``kB`` becomes ``node_memory_<Key>_bytes`` (value * 1024); a field without unit
    (``HugePages_Total``) becomes ``node_memory_<Key>`` as is. ``<Key>`` is the field name with
    ``(x)`` turned into ``_x`` (``Active(anon)`` -> ``Active_anon``). The field set depends on the
    kernel, so besides the declared common fields any name under :attr:`DYNAMIC_PREFIXES` that is a
    valid metric name may appear (all gauges, no labels).

    Derived gauges: ``autobot_memory_used_percent`` = (MemTotal - available) / MemTotal * 100
    and ``autobot_swap_used_percent`` = (SwapTotal - SwapFree) / SwapTotal * 100. ``available`` is
    MemAvailable; where the kernel has none (before 3.14) or it exceeds MemTotal, the estimate
    free/procps use instead, MemFree + Buffers + Cached + SReclaimable (see :func:`available`).
    Each is absent when an input is missing, the total is 0 or the figures contradict each other
    (never a false 0 % or 100 %). Raises :class:`CollectorError` only if the file is unreadable.
    """

    name = "memory"
    isolate = False
    DYNAMIC_PREFIXES = ("node_memory_",)
    SPECS = (
        *(_spec(f"node_memory_{k}_bytes", k, "bytes") for k in _COMMON_BYTES),
        *(_spec(f"node_memory_{k}", k, "") for k in _COMMON_PLAIN),
        MetricSpec("autobot_memory_used_percent", "gauge",
                   "Share of physical memory in use: (MemTotal - MemAvailable) / MemTotal.",
                   "percent"),
        MetricSpec("autobot_swap_used_percent", "gauge",
                   "Share of swap space in use: (SwapTotal - SwapFree) / SwapTotal.", "percent"),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self._specs: dict[str, MetricSpec | None] = {s.name: s for s in self.SPECS}

    def _dynamic(self, name: str, key: str, unit: str) -> MetricSpec | None:
        if name not in self._specs:
            try:
                self._specs[name] = _spec(name, key, unit)
            except MetricNameError:
                self._specs[name] = None
        return self._specs[name]

    def collect(self) -> list[MetricFamily]:
        path = self.ctx.proc("meminfo")
        text = self.files.read(path)
        if text is None:
            raise CollectorError(f"cannot read {path}")
        out: dict[str, MetricFamily] = {}
        raw: dict[str, int] = {}
        for line in text.splitlines():
            parsed = _parse_line(line)
            if parsed is None:
                continue
            field, value, in_kb = parsed
            key = metric_key(field)
            name = f"node_memory_{key}_bytes" if in_kb else f"node_memory_{key}"
            if name in out:
                continue
            spec = self._dynamic(name, key, "bytes" if in_kb else "")
            if spec is None:
                continue
            fam = spec.family()
            fam.add(value * 1024 if in_kb else value)
            out[name] = fam
            raw.setdefault(field, value)
        families = list(out.values())
        families.extend(self._derived(raw))
        return families

    def _derived(self, raw: dict[str, int]) -> list[MetricFamily]:
        out = []
        total, avail = raw.get("MemTotal"), available(raw)
        if total and avail is not None:
            fam = self.spec("autobot_memory_used_percent").family()
            fam.add((total - avail) * 100.0 / total)
            out.append(fam)
        stotal, sfree = raw.get("SwapTotal"), raw.get("SwapFree")
        if stotal and sfree is not None and 0 <= sfree <= stotal:
            fam = self.spec("autobot_swap_used_percent").family()
            fam.add((stotal - sfree) * 100.0 / stotal)
            out.append(fam)
        return out


def available(raw: dict[str, int]) -> int | None:
    """Available memory in kB from parsed meminfo fields, or None.

    MemAvailable when present and within [0, MemTotal]; otherwise procps-ng's estimate (what
    ``free`` shows on kernels without MemAvailable): MemFree + Buffers + Cached + SReclaimable,
    with missing Buffers/SReclaimable counted as 0 but MemFree and Cached required. None when
    MemTotal is missing or 0, or the estimate itself exceeds MemTotal.
    """
    total = raw.get("MemTotal")
    if not total:
        return None
    avail = raw.get("MemAvailable")
    if avail is not None and avail <= total:
        return avail
    if raw.get("MemFree") is None or raw.get("Cached") is None:
        return None
    estimate = raw["MemFree"] + raw.get("Buffers", 0) + raw["Cached"] + raw.get("SReclaimable", 0)
    return estimate if estimate <= total else None


def _parse_line(line: str) -> tuple[str, int, bool] | None:
    """``"MemTotal:  16 kB"`` -> ``("MemTotal", 16, True)``; ``None`` for anything else."""
    head, sep, rest = line.partition(":")
    field = head.strip()
    parts = rest.split()
    if not sep or not field or not parts or len(parts) > 2:
        return None
    try:
        value = int(parts[0])
    except ValueError:
        return None
    if value < 0:
        return None
    if len(parts) == 2:
        if parts[1] != "kB":
            return None
        return field, value, True
    return field, value, False
