"""Small helpers shared by the procfs readers: bounded line reads, the bound on a file read
whole, a cache of specs for families whose names come from the kernel (``node_netstat_*``,
``node_vmstat_*``, ``node_sockstat_*``), and node_exporter-style field filters. Whole-file reads
are :mod:`.filecache`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import MetricNameError
from ..model import MetricSpec, MetricType
from ..regex import RegexError, compile_regex

log = logging.getLogger(__name__)

#: Largest procfs file read whole (bytes); /proc/net/netstat is about 4 KiB.
MAX_FILE_BYTES = 1 << 20


def bounded_lines(path: str, max_lines: int) -> Iterator[str] | None:
    """Lines of ``path`` read one at a time, or ``None`` when it cannot be opened. Raises
    :class:`OverflowError` from the iterator after ``max_lines`` lines (the caller drops the
    partial result: a sum over a truncated table is no figure)."""
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by _gen
    except OSError:
        return None

    def _gen() -> Iterator[str]:
        with f:
            for n, line in enumerate(f):
                if n >= max_lines:
                    raise OverflowError(f"{path}: more than {max_lines} lines")
                yield line
    return _gen()


def field_filter(pattern: object, default: str, what: str) -> Callable[[str], bool]:
    """A predicate ``name -> bool``: an RE2 search (Go's ``MatchString``, node_exporter's
    semantics) with ``pattern``, or with ``default`` when ``pattern`` is not set or not a valid
    expression (logged: a bad option must not silently export nothing)."""
    rx = optional_regex(pattern, what) or compile_regex(default, dot_nl=False)
    seen: dict[str, bool] = {}  # the kernel's field set is stable: match each name once

    def match(name: str) -> bool:
        hit = seen.get(name)
        if hit is None:
            hit = rx.search(name) is not None
            if len(seen) < 10_000:
                seen[name] = hit
        return hit
    return match


def optional_regex(pattern: object, what: str) -> Any:
    """``pattern`` compiled as RE2 (``.search``), or ``None`` when it is unset, empty or invalid
    (an invalid one is logged and ignored)."""
    if not isinstance(pattern, str) or not pattern:
        return None
    try:
        return compile_regex(pattern, dot_nl=False)
    except RegexError as e:
        log.warning("%s: ignoring option: %s", what, e)
        return None


class DynamicSpecs:
    """Specs made on first use for names the kernel decides (``help`` built by ``help_of``), with
    the declared ``SPECS`` first so their help and type win. A name that is not a valid metric
    name maps to ``None`` (the sample is skipped) and is remembered, so it is checked once."""

    def __init__(self, declared: tuple[MetricSpec, ...], type_: MetricType,
                 help_of: Callable[[str], str]):
        self._specs: dict[str, MetricSpec | None] = {s.name: s for s in declared}
        self._type = type_
        self._help_of = help_of

    def get(self, name: str, key: str) -> MetricSpec | None:
        """The spec for metric ``name`` (``key``: the kernel's field name, for the help)."""
        if name not in self._specs:
            if len(self._specs) > 10_000:  # a kernel never has that many fields: garbage input
                return None
            try:
                self._specs[name] = MetricSpec(name, self._type, self._help_of(key))
            except MetricNameError:
                self._specs[name] = None
        return self._specs[name]
