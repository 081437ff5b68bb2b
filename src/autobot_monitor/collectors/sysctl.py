"""Kernel tables under ``/proc/sys`` and ``/proc/net/stat``: file handles (``filefd``), the
entropy pool (``entropy``) and connection tracking (``conntrack``), one collector each, exported
like node_exporter's collectors of those names."""

from __future__ import annotations

from ..model import MetricFamily, MetricSpec
from .base import Collector
from .procutil import MAX_FILE_BYTES


def _gauge(spec: MetricSpec, value: float) -> MetricFamily:
    fam = spec.family()
    fam.add(value)
    return fam


class FilefdCollector(Collector):
    """Emits ``node_filefd_allocated`` (file handles allocated, the first field of
    ``/proc/sys/fs/file-nr``) and ``node_filefd_maximum`` (``fs.file-max``, the third field).
    A missing file, fewer than three fields or a non-integer field emits nothing. Never raises.
    """

    name = "filefd"
    isolate = False
    SPECS = (
        MetricSpec("node_filefd_allocated", "gauge", "File descriptor statistics: allocated."),
        MetricSpec("node_filefd_maximum", "gauge", "File descriptor statistics: maximum."),
    )

    def collect(self) -> list[MetricFamily]:
        fields = (self.files.read_bounded(self.ctx.proc("sys", "fs", "file-nr"), MAX_FILE_BYTES) or "").split()
        if len(fields) < 3 or not (fields[0].isdigit() and fields[2].isdigit()):
            return []
        return [_gauge(self.SPECS[0], int(fields[0])), _gauge(self.SPECS[1], int(fields[2]))]


class EntropyCollector(Collector):
    """Emits ``node_entropy_available_bits`` (``/proc/sys/kernel/random/entropy_avail``) and
    ``node_entropy_pool_size_bits`` (``.../poolsize``; both 256 on kernels >= 5.18). A file
    that is missing or not a non-negative integer leaves its family out. Never raises.
    """

    name = "entropy"
    isolate = False
    SPECS = (
        MetricSpec("node_entropy_available_bits", "gauge", "Bits of available entropy."),
        MetricSpec("node_entropy_pool_size_bits", "gauge", "Bits of entropy pool."),
    )

    def collect(self) -> list[MetricFamily]:
        out = []
        for spec, fname in zip(self.SPECS, ("entropy_avail", "poolsize"), strict=True):
            v = self.files.read_int(self.ctx.proc("sys", "kernel", "random", fname))
            if v is not None and v >= 0:
                out.append(_gauge(spec, v))
        return out


#: (column of /proc/net/stat/nf_conntrack, metric suffix, help), node_exporter 1.5's.
_STAT_COLUMNS = (
    (2, "found", "Number of searched entries which were successful."),
    (4, "invalid", "Number of packets seen which can not be tracked."),
    (5, "ignore", "Number of packets seen which are already connected to a conntrack entry."),
    (8, "insert", "Number of entries inserted into the list."),
    (9, "insert_failed", "Number of entries for which list insertion was attempted but failed."),
    (10, "drop", "Number of packets dropped due to conntrack failure."),
    (11, "early_drop", "Number of dropped conntrack entries to make room for new ones, if "
     "maximum table size was reached."),
    (16, "search_restart", "Number of conntrack table lookups which had to be restarted due to "
     "hashtable resizes."),
)
_STAT_WIDTH = 17


class ConntrackCollector(Collector):
    """Emits ``node_nf_conntrack_entries`` (``/proc/sys/net/netfilter/nf_conntrack_count``),
    ``node_nf_conntrack_entries_limit`` (``nf_conntrack_max``) and the
    ``node_nf_conntrack_stat_*`` gauges of :data:`_STAT_COLUMNS`: per-CPU hex columns of
    ``/proc/net/stat/nf_conntrack`` (a header line, then one line of 17 columns per CPU) summed
    over CPUs. All gauges, as node_exporter types them (the stats only grow).

    Without the nf_conntrack module the files are absent and nothing is emitted. A value that
    does not parse leaves its family out; a stat line that is not 17 hex columns drops the stat
    families (a partial sum would be wrong). Never raises.
    """

    name = "conntrack"
    isolate = False
    SPECS = (
        MetricSpec("node_nf_conntrack_entries", "gauge",
                   "Number of currently allocated flow entries for connection tracking."),
        MetricSpec("node_nf_conntrack_entries_limit", "gauge",
                   "Maximum size of connection tracking table."),
        *(MetricSpec(f"node_nf_conntrack_stat_{n}", "gauge", h) for _, n, h in _STAT_COLUMNS),
    )

    def collect(self) -> list[MetricFamily]:
        out = []
        for spec, fname in zip(self.SPECS, ("nf_conntrack_count", "nf_conntrack_max"),
                               strict=False):
            v = self.files.read_int(self.ctx.proc("sys", "net", "netfilter", fname))
            if v is not None and v >= 0:
                out.append(_gauge(spec, v))
        sums = conntrack_stat_sums(self.files.read_bounded(self.ctx.proc("net", "stat", "nf_conntrack"), MAX_FILE_BYTES))
        if sums is not None:
            out += [_gauge(spec, v) for spec, v in zip(self.SPECS[2:], sums, strict=True)]
        return out


def conntrack_stat_sums(text: str | None) -> list[int] | None:
    """The :data:`_STAT_COLUMNS` summed over the CPU lines of ``/proc/net/stat/nf_conntrack``,
    or ``None`` for no text, no CPU line or a malformed one."""
    if text is None:
        return None
    lines = text.splitlines()[1:]
    if not lines:
        return None
    sums = [0] * len(_STAT_COLUMNS)
    for line in lines:
        cols = line.split()
        if len(cols) != _STAT_WIDTH:
            return None
        try:
            for i, (col, _, _) in enumerate(_STAT_COLUMNS):
                sums[i] += int(cols[col], 16)
        except ValueError:
            return None
    return sums
