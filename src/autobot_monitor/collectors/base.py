"""Collector contract, context and registry.

A collector is one module reading one source. It subclasses :class:`Collector`, declares the
families it may emit in ``SPECS`` (a tuple of :class:`~autobot_monitor.model.MetricSpec`), and
implements :meth:`Collector.collect`, which is *blocking* (file reads, psutil, NVML) and is always
run off the event loop by :mod:`autobot_monitor.collectors.runner`.

A collector keeps whatever state it needs between calls (previous counter values for rates) and
must never raise for odd input: a file it cannot parse yields fewer samples, not an exception.
Raising means "this whole collector failed this cycle"; the runner records that in
``autobot_scrape_collector_success`` and the other collectors still deliver.
"""

from __future__ import annotations

import abc
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..clock import SYSTEM_CLOCK, Clock
from ..model import MetricFamily, MetricSpec
from .filecache import MAX_READ_BYTES as MAX_READ_BYTES
from .filecache import FileCache
from .filecache import read_int as read_int
from .filecache import read_text as read_text

log = logging.getLogger(__name__)


@dataclass
class CollectorContext:
    """Where collectors read from. ``procfs``/``sysfs``/``rootfs`` are the roots of ``/proc``,
    ``/sys`` and ``/`` (settable like node_exporter's ``--path.*`` flags so a containerised agent
    can watch its host and tests can replay recorded trees). ``options`` holds per-collector
    settings keyed by collector name. ``nvml`` is an optional injected NVML module-like object."""

    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"
    clock: Clock = SYSTEM_CLOCK
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    nvml: Any = None

    def proc(self, *parts: str) -> str:
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        return os.path.join(self.sysfs, *parts)

    def root(self, path: str) -> str:
        """Map an absolute host path (as seen in /proc/mounts) under ``rootfs``."""
        if self.rootfs in ("", "/"):
            return path
        return os.path.join(self.rootfs, path.lstrip("/"))


class Collector(abc.ABC):
    """Base class. Subclasses set ``name`` (unique, lowercase) and ``SPECS`` and implement
    :meth:`collect`. ``__init__`` must be cheap and must not fail when the source is missing
    (a machine without sensors or a GPU is normal)."""

    name: ClassVar[str]
    SPECS: ClassVar[tuple[MetricSpec, ...]] = ()
    #: False for collectors that only read procfs text files (which never block): the runner
    #: runs those first in its one worker call of the cycle. Anything that may block (statvfs on
    #: a network mount, sysfs drivers, NVML) runs after them, so a hang there never delays the
    #: procfs readers; every collector has its own timeout either way.
    isolate: ClassVar[bool] = True
    #: Seconds between runs for a collector too costly to run every cycle (None: every cycle);
    #: the option ``interval`` overrides it. Between runs the runner serves its last families
    #: again, so :meth:`collect` must still be correct when called every cycle.
    default_interval: ClassVar[float | None] = None

    def __init__(self, ctx: CollectorContext):
        self.ctx = ctx
        self.options: dict[str, Any] = dict(ctx.options.get(self.name, {}))
        #: kept-open descriptors of the procfs/sysfs files read every cycle (:mod:`.filecache`)
        self.files = FileCache(ctx.procfs, ctx.sysfs)

    def interval(self) -> float | None:
        """Seconds between runs: option ``interval`` (a number > 0; 0 or ``none`` = every
        cycle), else :attr:`default_interval`. A value that is no number is logged and ignored."""
        return option_interval(self.name, self.options.get("interval"), self.default_interval)

    @abc.abstractmethod
    def collect(self) -> Iterable[MetricFamily]:
        """Read the source and return families (blocking; runs in a worker thread)."""

    def close(self) -> None:
        """Release handles (NVML, sockets); subclasses call this too. Closes :attr:`files`."""
        self.files.close()

    @classmethod
    def spec(cls, name: str) -> MetricSpec:
        for s in cls.SPECS:
            if s.name == name:
                return s
        raise KeyError(f"{cls.__name__} does not declare {name}")


def option_interval(name: str, raw: Any, default: float | None) -> float | None:
    """Collector ``name``'s interval option ``raw`` as seconds: None when ``raw`` is 0, ``none``
    or empty (every cycle), ``default`` when ``raw`` is None or no finite number >= 0 (logged)."""
    if raw is None:
        return default
    if isinstance(raw, str) and raw.strip().lower() in ("", "none", "0"):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        log.warning("collector %s: interval %r is no number of seconds >= 0; using %s",
                    name, raw, default)
        return default
    return value or None


class CounterDelta:
    """Per-key counter differencing with reset detection, for rates from kernel counters.

    ``update(key, value, now)`` returns the rate per second since the previous value of ``key``,
    or ``None`` for the first sample of a key, a counter that went down (reboot, driver reset,
    32-bit wrap) or a non-positive interval. ``now`` must be monotonic seconds. Keys not updated in
    a call to :meth:`retain` are forgotten, so vanished interfaces do not leak memory.
    """

    def __init__(self) -> None:
        self._prev: dict[Any, tuple[float, float]] = {}

    def update(self, key: Any, value: float, now: float) -> float | None:
        prev = self._prev.get(key)
        self._prev[key] = (value, now)
        if prev is None:
            return None
        pv, pt = prev
        dt = now - pt
        if dt <= 0 or value < pv:
            return None
        return (value - pv) / dt

    def retain(self, keys: Iterable[Any]) -> None:
        keep = set(keys)
        for k in list(self._prev):
            if k not in keep:
                del self._prev[k]
