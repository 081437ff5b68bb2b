"""Shared pieces of the benchmark modules: progress callbacks, CPU-saturation check, slices.

Every benchmark result is a plain JSON-ready dict. A figure that was not measured is None (or
absent) with a ``*_note`` saying why, never 0.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable

# progress(phase description, fraction done 0..1)
ProgressFn = Callable[[str, float], None]
SLICES = 5  # time slices per measurement, for the run-to-run noise estimate
CPU_SATURATED = 0.90  # client CPU seconds per wall second above which the client is the bottleneck


def no_progress(_phase: str, _frac: float) -> None:
    """A progress callback that ignores everything."""


class CpuMeter:
    """This process's CPU time (user + system, all threads) over a wall-clock interval, to tell
    when the Python client itself was the bottleneck. Source: ``getrusage(RUSAGE_SELF)``."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = self._now()

    @staticmethod
    def _now() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def result(self) -> dict:
        """``{"client_cpu_ratio": cpu_s / wall_s, "client_cpu_saturated": bool}``. The ratio is
        of one core (the asyncio client runs on one); >= 0.9 means the client, not the target,
        limited the figures."""
        wall = time.perf_counter() - self._wall
        ratio = (self._now() - self._cpu) / wall if wall > 0 else None
        return {"client_cpu_ratio": ratio,
                "client_cpu_saturated": ratio is not None and ratio >= CPU_SATURATED}


def slice_index(t_rel: float, duration: float, slices: int = SLICES) -> int:
    """Which of ``slices`` equal slices of ``[0, duration]`` the relative time ``t_rel`` is in
    (times past the end go to the last slice)."""
    if duration <= 0:
        return 0
    return min(slices - 1, max(0, int(t_rel / duration * slices)))


def cpu_count() -> int:
    """CPUs this process may run on (affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
