"""Metrics that users and cron jobs write to ``*.prom`` files (node_exporter's textfile collector)."""

from __future__ import annotations

import glob
import logging
import os
import re
import stat
from dataclasses import dataclass, field

from ..exposition import parse
from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 4 * 1024 * 1024  # default cap on one file (option max_file_bytes)
MAX_FILES = 1000  # default cap on files read per cycle (option max_files)
MAX_SAMPLES = 100_000  # default cap on samples per file (option max_samples)
#: prefixes a textfile may not use: ours, whether or not a collector declares the name yet
RESERVED_PREFIXES = ("autobot_", "node_textfile_")
#: the series a scraper writes itself for each target (Prometheus' and the hub's, with
#: Prometheus' extra-scrape-metrics) and the alert series rule engines write: a textfile
#: ``up 0`` would read as a target that is down
SCRAPER_NAMES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped",
                           "scrape_samples_post_metric_relabeling", "scrape_series_added",
                           "scrape_timeout_seconds", "scrape_sample_limit",
                           "scrape_body_size_bytes", "ALERTS", "ALERTS_FOR_STATE"})
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class FileError(ValueError):
    """A ``.prom`` file that cannot be delivered (unreadable, too big, malformed, clashing)."""


@dataclass
class _Merged:
    """Families read so far this cycle, by name, and the files each came from."""

    families: dict[str, MetricFamily] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    series: set[SeriesKey] = field(default_factory=set)


@dataclass(frozen=True)
class Reserved:
    """Names a textfile may not use: every family a registered collector (or the runner)
    declares, the prefixes collectors emit dynamically (``node_memory_``), ours."""

    names: frozenset[str]
    prefixes: tuple[str, ...]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.names or name.startswith(self.prefixes))


def reserved_names() -> Reserved:
    """The :class:`Reserved` names of the collectors registered now."""
    from . import REGISTRY, collector_class
    from .metrics import SELF_SPECS

    names = {s.name for s in SELF_SPECS} | SCRAPER_NAMES
    prefixes = list(RESERVED_PREFIXES)
    for n in REGISTRY:
        try:
            cls = collector_class(n)
        except (ImportError, AttributeError):
            continue
        names.update(s.name for s in cls.SPECS)
        prefixes += getattr(cls, "DYNAMIC_PREFIXES", ())
    return Reserved(frozenset(names), tuple(prefixes))


def sample_names(fam: MetricFamily) -> set[str]:
    """The exposition names ``fam`` occupies (a histogram ``x``: ``x_bucket``, ``x_sum``...)."""
    return {fam.name, *(s.name for s in fam.samples)}


def read_file(path: str, limit: int) -> tuple[str, float]:
    """``(text, mtime)`` of ``path`` read through one descriptor (a file replaced by rename
    meanwhile is read whole, old or new). Opened without blocking: a FIFO, socket or device
    named ``*.prom`` is refused (a FIFO would hold a blocking ``open`` until a writer came,
    and the collector with it). A symlink that leads out of the file's directory is refused:
    whoever may write the directory must not make the agent (often root) read, serve or log
    another file. Raises :class:`FileError` for anything but a regular file in the directory,
    past ``limit`` bytes or when unreadable."""
    folder = os.path.join(os.path.realpath(os.path.dirname(path)), "")
    if not os.path.realpath(path).startswith(folder):
        raise FileError("a symlink out of the textfile directory")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise FileError(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileError("not a regular file")
        if st.st_size > limit:
            raise FileError(f"{st.st_size} bytes, over the {limit}-byte limit")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise FileError(f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileError(f"over the {limit}-byte limit")
    try:
        return data.decode("utf-8"), float(int(st.st_mtime))
    except UnicodeDecodeError:
        raise FileError("not UTF-8") from None


def parse_file(text: str, max_samples: int) -> list[MetricFamily]:
    """Families of one file, checked as node_exporter checks them. Raises :class:`FileError`
    for malformed text, client-side timestamps, a counter sample lacking ``_total`` (our model
    has none) or more than ``max_samples`` samples. Samples of a family missing some label the
    family's other samples carry get it with value "" (node_exporter does the same). Families
    without samples (a TYPE line alone) are dropped."""
    try:
        fams = [f for f in parse(text) if f.samples]  # a TYPE line without samples: nothing
    except (ValueError, TypeError, IndexError):
        # the parser's message quotes the offending line: never log a file's content (a
        # symlink to a file only root may read would otherwise leak it line by line)
        raise FileError(f"malformed: not Prometheus text format 0.0.4{_first_bad_line(text)}"
                        ) from None
    if sum(len(f.samples) for f in fams) > max_samples:
        raise FileError(f"more than {max_samples} samples")
    bare = bare_counters(text)
    if bare:
        raise FileError(f"counter {bare[0]}: its samples must be named {bare[0]}_total")
    for fam in fams:
        if any(s.timestamp is not None for s in fam.samples):
            raise FileError(f"{fam.name}: client-side timestamps are not supported")
        names = {k for s in fam.samples for k, _ in s.labels}
        if fam.type == "histogram":
            names.discard("le")  # a bucket's own label, not the histogram's
        for i, s in enumerate(fam.samples):
            missing = names - {k for k, _ in s.labels}
            if missing:
                filled = tuple(sorted((*s.labels, *((k, "") for k in missing))))
                fam.samples[i] = type(s)(s.name, filled, s.value)
    return fams


def _first_bad_line(text: str) -> str:
    """`` (line N)``: the first line that parses on its own as no sample, comment or blank, or
    ``""`` when each does (the fault is between lines: a TYPE clash, a duplicate)."""
    for n, line in enumerate(text.splitlines()[:1000], 1):  # bounded: only a hint
        if not line.strip() or line.startswith("#"):
            continue
        try:
            parse(line + "\n")
        except (ValueError, TypeError, IndexError):
            return f" (line {n})"
    return ""


def bare_counters(text: str) -> list[str]:
    """Counters typed ``x`` whose samples are named ``x`` (without ``_total``): the parser would
    rename them ``x_total``, so a query for ``x`` would find nothing; they are refused."""
    counters = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[:2] == ["#", "TYPE"] and parts[3] == "counter" \
                and not parts[2].endswith("_total"):
            counters.add(parts[2])
    if not counters:
        return []
    found = set()
    for line in text.splitlines():
        m = _NAME_RE.match(line.lstrip())
        if m and m.group(0) in counters:
            found.add(m.group(0))
    return sorted(found)


def _series_key(name: str, labels: tuple[tuple[str, str], ...]) -> SeriesKey:
    """A series' identity as Prometheus sees it: a label with an empty value is no label."""
    return name, tuple(p for p in labels if p[1] != "")


def merge(acc: _Merged, fams: list[MetricFamily], path: str, reserved: Reserved) -> None:
    """Add one file's families to ``acc``, all or nothing. Raises :class:`FileError` for a name
    we collect ourselves, a name another file uses with another type, or a series (name and
    labels) another file already gave."""
    series: set[SeriesKey] = set()
    for fam in fams:
        taken = sample_names(fam)
        clash = sorted(n for n in taken if n in reserved)
        if clash:
            raise FileError(f"{clash[0]} clashes with a collected metric")
        other = acc.families.get(fam.name)
        if other is not None and other.type != fam.type:
            raise FileError(f"{fam.name}: {fam.type} here, {other.type} in {acc.files[fam.name]}")
        for s in fam.samples:
            key = _series_key(s.name, s.labels)
            if key in acc.series or key in series:
                raise FileError(f"{s.name}{dict(s.labels)}: duplicate series")
            series.add(key)
    acc.series |= series
    for fam in fams:
        if fam.name in acc.families:
            acc.families[fam.name].samples.extend(fam.samples)
            acc.files[fam.name].append(path)
        else:
            acc.families[fam.name] = fam
            acc.files[fam.name] = [path]


class TextfileCollector(Collector):
    """Reads every ``*.prom`` file of option ``directory`` (a glob matching several directories
    works too, as node_exporter's ``--collector.textfile.directory``) in name order, parses it
    with :func:`~autobot_monitor.exposition.parse` and delivers its families, plus:

    * ``node_textfile_mtime_seconds{file}``: each delivered file's modification time (whole Unix
      seconds; ``file`` is the path as directory + name);
    * ``node_textfile_scrape_error``: 1 when a directory or any file could not be delivered this
      cycle, else 0 (also 0 with no directory configured, as node_exporter).

    A file that fails (see :func:`read_file`, :func:`parse_file`, :func:`merge`: over
    ``max_file_bytes``/``max_samples``, malformed, timestamps, a name one of our collectors
    declares or ``autobot_*``/``node_textfile_*``, a series another file gave) is skipped whole
    and logged once per distinct error; the others are still delivered. At most ``max_files``
    files a cycle (more is an error). Family help left out in a file reads "Metric read from
    <files>". Writers should write a temporary file and rename it over the ``.prom`` one.
    """

    name = "textfile"
    SPECS = (
        MetricSpec("node_textfile_mtime_seconds", "gauge",
                   "Unixtime mtime of textfiles successfully read.", "seconds", ("file",)),
        MetricSpec("node_textfile_scrape_error", "gauge",
                   "1 if there was an error opening or reading a file, 0 otherwise"),
    )

    def __init__(self, ctx: CollectorContext):
        super().__init__(ctx)
        self.directory: str = str(self.options.get("directory") or "")
        self.max_file_bytes = int(self.options.get("max_file_bytes", MAX_FILE_BYTES))
        self.max_files = int(self.options.get("max_files", MAX_FILES))
        self.max_samples = int(self.options.get("max_samples", MAX_SAMPLES))
        self._reserved: Reserved | None = None
        self._logged: dict[str, str] = {}

    def collect(self) -> list[MetricFamily]:
        acc = _Merged()
        mtimes: dict[str, float] = {}
        errors: dict[str, str] = {}
        if self.directory:
            if self._reserved is None:
                self._reserved = reserved_names()
            for path in self._files(errors):
                try:
                    text, modified = read_file(path, self.max_file_bytes)
                    merge(acc, parse_file(text, self.max_samples), path, self._reserved)
                except FileError as e:
                    errors[path] = str(e)
                    continue
                mtimes[path] = modified
        self._log(errors)
        out = list(acc.families.values())
        for fam in out:
            if not fam.help:
                fam.help = "Metric read from " + ", ".join(acc.files[fam.name])
        mtime = self.SPECS[0].family()
        for path in sorted(mtimes):
            mtime.add(mtimes[path], {"file": path})
        err = self.SPECS[1].family()
        err.add(1 if errors else 0)
        return [*out, *([mtime] if mtime.samples else []), err]

    def _files(self, errors: dict[str, str]) -> list[str]:
        """Paths of the ``.prom`` entries to read, in order, at most ``max_files``; problems
        (unreadable directory, too many files) go into ``errors``."""
        paths: list[str] = []
        for d in sorted(glob.glob(self.directory)) or [self.directory]:
            try:
                with os.scandir(d) as it:
                    names = sorted(e.name for e in it if e.name.endswith(".prom"))
            except OSError as e:
                errors[d] = f"cannot read directory: {e.strerror or e}"
                continue
            paths += [os.path.join(d, n) for n in names]
        if len(paths) > self.max_files:
            errors[self.directory] = f"{len(paths)} files, over the limit of {self.max_files}"
            paths = paths[:self.max_files]
        return paths

    def _log(self, errors: dict[str, str]) -> None:
        for path, msg in errors.items():
            if self._logged.get(path) != msg:
                log.warning("textfile %s skipped: %s", path, msg)
        self._logged = dict(errors)
