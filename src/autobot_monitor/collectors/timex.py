"""Kernel clock discipline state from the ``adjtimex(2)`` system call (read-only: ``modes`` 0),
exported like node_exporter's ``timex`` collector."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
from collections.abc import Callable, Mapping

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector

TIME_ERROR = 5  # adjtimex's return value when the clock is not synchronised
STA_NANO = 0x2000  # status bit: offset and jitter are in nanoseconds, not microseconds
_PPM16 = 1000000.0 * 65536.0  # freq, ppsfreq and stabil are ppm with a 16-bit fraction

_L = ctypes.c_long


class Timex(ctypes.Structure):
    """Linux ``struct timex`` as glibc declares it (``long`` fields, trailing padding)."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", _L), ("freq", _L), ("maxerror", _L),
                ("esterror", _L), ("status", ctypes.c_int), ("constant", _L),
                ("precision", _L), ("tolerance", _L), ("time_sec", _L), ("time_usec", _L),
                ("tick", _L), ("ppsfreq", _L), ("jitter", _L), ("shift", ctypes.c_int),
                ("stabil", _L), ("jitcnt", _L), ("calcnt", _L), ("errcnt", _L),
                ("stbcnt", _L), ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 16)]


FIELDS = tuple(f[0] for f in Timex._fields_ if not f[0].startswith("_"))


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def read_timex() -> tuple[int, dict[str, int]] | None:
    """``(clock state, {field: value})`` from ``adjtimex`` with ``modes`` 0 (changes nothing),
    or ``None`` when the call is not permitted (EPERM: a seccomp filter). Raises
    :class:`CollectorError` for any other failure (no libc ``adjtimex``, another errno)."""
    tx = Timex()
    try:
        fn = _libc().adjtimex
    except (OSError, AttributeError) as e:
        raise CollectorError(f"adjtimex unavailable: {e}") from e
    state = fn(ctypes.byref(tx))
    if state == -1:
        err = ctypes.get_errno()
        if err == errno.EPERM:
            return None
        raise CollectorError(f"adjtimex: {errno.errorcode.get(err, err)}")
    return state, {n: getattr(tx, n) for n in FIELDS}


_SPECS = (
    ("node_timex_offset_seconds", "gauge",
     "Time offset in between local system and reference clock.", "seconds"),
    ("node_timex_frequency_adjustment_ratio", "gauge", "Local clock frequency adjustment.",
     "ratio"),
    ("node_timex_maxerror_seconds", "gauge", "Maximum error in seconds.", "seconds"),
    ("node_timex_estimated_error_seconds", "gauge", "Estimated error in seconds.", "seconds"),
    ("node_timex_status", "gauge", "Value of the status array bits.", ""),
    ("node_timex_loop_time_constant", "gauge", "Phase-locked loop time constant.", ""),
    ("node_timex_tick_seconds", "gauge", "Seconds between clock ticks.", "seconds"),
    ("node_timex_pps_frequency_hertz", "gauge", "Pulse per second frequency.", "hertz"),
    ("node_timex_pps_jitter_seconds", "gauge", "Pulse per second jitter.", "seconds"),
    ("node_timex_pps_shift_seconds", "gauge", "Pulse per second interval duration.", "seconds"),
    ("node_timex_pps_stability_hertz", "gauge",
     "Pulse per second stability, average of recent frequency changes.", "hertz"),
    ("node_timex_pps_jitter_total", "counter",
     "Pulse per second count of jitter limit exceeded events.", ""),
    ("node_timex_pps_calibration_total", "counter",
     "Pulse per second count of calibration intervals.", ""),
    ("node_timex_pps_error_total", "counter", "Pulse per second count of calibration errors.", ""),
    ("node_timex_pps_stability_exceeded_total", "counter",
     "Pulse per second count of stability limit exceeded events.", ""),
    ("node_timex_tai_offset_seconds", "gauge", "International Atomic Time (TAI) offset.",
     "seconds"),
    ("node_timex_sync_status", "gauge",
     "Is clock synchronized to a reliable server (1 = yes, 0 = no).", ""),
)


def timex_values(state: int, tx: Mapping[str, int]) -> dict[str, float]:
    """Metric name -> value, computed as node_exporter 1.5 does: ``offset`` and ``jitter`` in
    ns when ``status`` has :data:`STA_NANO`, else in us; ``maxerror``, ``esterror`` and ``tick``
    in us; ``freq`` as ``1 + freq / 2**16 ppm``; ``ppsfreq``/``stabil`` per 2**16 ppm (in Hz,
    as node_exporter names them); ``shift`` as is (log2 of the PPS interval in seconds, named
    ``_seconds`` by node_exporter); ``sync_status`` 0 when the call answered TIME_ERROR."""
    div = 1e9 if tx["status"] & STA_NANO else 1e6
    return {
        "node_timex_sync_status": 0.0 if state == TIME_ERROR else 1.0,
        "node_timex_offset_seconds": tx["offset"] / div,
        "node_timex_frequency_adjustment_ratio": 1 + tx["freq"] / _PPM16,
        "node_timex_maxerror_seconds": tx["maxerror"] / 1e6,
        "node_timex_estimated_error_seconds": tx["esterror"] / 1e6,
        "node_timex_status": float(tx["status"]),
        "node_timex_loop_time_constant": float(tx["constant"]),
        "node_timex_tick_seconds": tx["tick"] / 1e6,
        "node_timex_pps_frequency_hertz": tx["ppsfreq"] / _PPM16,
        "node_timex_pps_jitter_seconds": tx["jitter"] / div,
        "node_timex_pps_shift_seconds": float(tx["shift"]),
        "node_timex_pps_stability_hertz": tx["stabil"] / _PPM16,
        "node_timex_pps_jitter_total": float(tx["jitcnt"]),
        "node_timex_pps_calibration_total": float(tx["calcnt"]),
        "node_timex_pps_error_total": float(tx["errcnt"]),
        "node_timex_pps_stability_exceeded_total": float(tx["stbcnt"]),
        "node_timex_tai_offset_seconds": float(tx["tai"]),
    }


class TimexCollector(Collector):
    """Emits the ``node_timex_*`` families (see :func:`timex_values` for units) from one
    read-only ``adjtimex`` call. Nothing when the call is not permitted (a container's seccomp
    filter); raises :class:`CollectorError` when it fails otherwise. ``read`` is the syscall
    wrapper (:func:`read_timex`), replaceable to replay recorded answers.
    """

    name = "timex"
    isolate = False
    SPECS = tuple(MetricSpec(n, t, h, u) for n, t, h, u in _SPECS)  # type: ignore[arg-type]
    read: Callable[[], tuple[int, dict[str, int]] | None] = staticmethod(read_timex)

    def collect(self) -> list[MetricFamily]:
        got = self.read()
        if got is None:
            return []
        values = timex_values(*got)
        out = []
        for spec in self.SPECS:
            fam = spec.family()
            fam.add(values[spec.name])
            out.append(fam)
        return out
