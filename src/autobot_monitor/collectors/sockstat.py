"""Socket counts and memory from ``/proc/net/sockstat`` and ``/proc/net/sockstat6``, exported like
node_exporter's ``sockstat`` collector."""

from __future__ import annotations

import os

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext
from .procutil import MAX_FILE_BYTES, DynamicSpecs

#: Per-protocol keys node_exporter exports, in its order (``mem`` also gives ``mem_bytes``).
KEYS = ("inuse", "orphan", "tw", "alloc", "mem", "memory")

_COMMON = (("TCP", ("inuse", "orphan", "tw", "alloc", "mem", "mem_bytes")),
           ("UDP", ("inuse", "mem", "mem_bytes")), ("UDPLITE", ("inuse",)), ("RAW", ("inuse",)),
           ("FRAG", ("inuse", "memory")), ("TCP6", ("inuse",)), ("UDP6", ("inuse",)),
           ("UDPLITE6", ("inuse",)), ("RAW6", ("inuse",)), ("FRAG6", ("inuse", "memory")))


def _help(key: str) -> str:
    proto, _, state = key.partition("_")
    return f"Number of {proto} sockets in state {state}."


def _spec(proto: str, key: str) -> MetricSpec:
    return MetricSpec(f"node_sockstat_{proto}_{key}", "gauge", _help(f"{proto}_{key}"),
                      "bytes" if key == "mem_bytes" else "")


def page_size() -> int:
    """This machine's memory page size in bytes (what ``mem`` counts in)."""
    return os.sysconf("SC_PAGE_SIZE")


class SockstatCollector(Collector):
    """Emits ``node_sockstat_sockets_used`` (IPv4 file only: sockets in use, all families) and,
    per protocol line (``TCP: inuse 16 orphan 0 tw 26 alloc 19 mem 38``) of both files,
    ``node_sockstat_<PROTO>_<key>`` gauges for the keys in :data:`KEYS` that the line has, plus
    ``node_sockstat_<PROTO>_mem_bytes`` = ``mem`` (pages) * the page size. ``TCP6``, ``UDP6``...
    come from ``sockstat6``; a protocol repeated in a file keeps its first line. A missing file contributes nothing; a line that is not
    ``name: key value...`` with integer values is skipped. Never raises for odd input.
    """

    name = "sockstat"
    isolate = False
    DYNAMIC_PREFIXES = ("node_sockstat_",)
    SPECS = (
        MetricSpec("node_sockstat_sockets_used", "gauge", "Number of IPv4 sockets in use."),
        *(_spec(p, k) for p, keys in _COMMON for k in keys),
    )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._specs = DynamicSpecs(self.SPECS, "gauge", _help)
        self._page = page_size()

    def collect(self) -> list[MetricFamily]:
        out: dict[str, MetricFamily] = {}
        for rel, v6 in (("net/sockstat", False), ("net/sockstat6", True)):
            text = self.files.read_bounded(self.ctx.proc(rel), MAX_FILE_BYTES)
            if text is None:
                continue
            for proto, kv in parse_sockstat(text):
                if proto == "sockets":
                    if not v6 and "used" in kv:
                        self._emit(out, "node_sockstat_sockets_used", "", kv["used"])
                    continue
                for key in KEYS:
                    if key in kv:
                        self._emit(out, f"node_sockstat_{proto}_{key}", f"{proto}_{key}", kv[key])
                if "mem" in kv:
                    self._emit(out, f"node_sockstat_{proto}_mem_bytes", f"{proto}_mem_bytes",
                               kv["mem"] * self._page)
        return list(out.values())

    def _emit(self, out: dict[str, MetricFamily], name: str, key: str, value: int) -> None:
        """Add ``name`` = ``value`` to ``out`` unless already there (a repeated line)."""
        spec = self._specs.get(name, key)
        if spec is not None and name not in out:
            fam = spec.family()
            fam.add(value)
            out[name] = fam


def parse_sockstat(text: str) -> list[tuple[str, dict[str, int]]]:
    """``[(protocol, {key: value})]`` per well-formed line, in file order; a line without a
    ``name:`` head, with an odd number of fields after it or a value that is not an integer is
    skipped."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].endswith(":") or len(fields) % 2 == 0:
            continue
        try:
            kv = {fields[i]: int(fields[i + 1]) for i in range(1, len(fields), 2)}
        except ValueError:
            continue
        out.append((fields[0][:-1], kv))
    return out
