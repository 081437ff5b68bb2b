"""System benchmark: CPU (single and multi-core, in processes), memory bandwidth, disk, GPU.

* CPU: a fixed pure-Python integer workload (:func:`_cpu_work`, 1,000 multiply-add-modulo steps
  per unit) run in 1 process, then in one process per usable CPU (ProcessPoolExecutor, spawn:
  separate interpreters, no GIL sharing). Figures: work units per second, and the multi-core
  scaling ``multi / (single * cpus)``. Not scored: the spec gives no CPU baseline.
* Memory bandwidth: copy a :data:`MEM_BYTES` buffer into another, best of several passes, counted
  STREAM-"Copy" style as bytes read + bytes written per second. With numpy (a pinned
  dependency) the copy is ``numpy.copyto``; if it cannot be imported, a ``memoryview`` slice
  assignment (also one memcpy); ``method`` says which.
* Disk, in ``scratch_dir`` and never more than ``size_cap`` bytes: sequential write then read in
  1 MiB blocks with ``O_DIRECT`` (page cache bypassed) where the filesystem allows, else buffered
  write + ``fsync`` and ``posix_fadvise(DONTNEED)`` before reading (``method`` says which); then
  random 4 KiB reads, one at a time (QD1), for IOPS. The file is removed afterwards, also on
  error or Ctrl-C. Scored: sequential read and write against 500 MB/s (MB = 10^6 bytes).
* GPU: only where NVML shows a device; its bandwidth is "not measured" unless a GPU framework
  is installed (none is a dependency), never a constant.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import random
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from .base import ProgressFn, cpu_count, no_progress
from .stats import spread

MEM_BYTES = 64 * 1024 * 1024
BLOCK = 1024 * 1024
PAGE = 4096


def _cpu_work(seconds: float) -> tuple[int, float]:
    """Run the integer workload for ``seconds``; returns (units done, seconds taken)."""
    units = 0
    x = 1
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        for i in range(1000):
            x = (x * 1103515245 + i) % 2147483648
        units += 1
    return units, time.perf_counter() - t0


def cpu(seconds: float, progress: ProgressFn = no_progress) -> dict:
    """Single-core then multi-core work rate, each for ``seconds / 2``."""
    half = seconds / 2
    n = cpu_count()
    progress("system: cpu single-core", 0.0)
    with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
        list(pool.map(_cpu_work, [0.01] * n))  # start every worker before timing
        units, took = pool.submit(_cpu_work, half).result()
        single = units / took
        progress("system: cpu multi-core", 0.5)
        parts = list(pool.map(_cpu_work, [half] * n))
    multi = sum(u / t for u, t in parts)
    return {"cpus": n, "single_core_units_per_second": single,
            "multi_core_units_per_second": multi,
            "multi_core_scaling_ratio": multi / (single * n) if single else None,
            "unit": "1,000 integer multiply-add-modulo steps in CPython"}


def memory_bandwidth(seconds: float, nbytes: int = MEM_BYTES) -> dict:
    """Best copy rate over as many passes as fit in ``seconds`` (at least 3)."""
    try:
        import numpy as np

        src = np.ones(nbytes // 8, dtype=np.float64)
        dst = np.empty_like(src)

        def copy() -> None:
            np.copyto(dst, src)
        method = f"numpy.copyto (numpy {np.__version__})"
    except ImportError:
        src_b = bytearray(b"\x01") * nbytes
        dst_b = bytearray(nbytes)
        sv, dv = memoryview(src_b), memoryview(dst_b)

        def copy() -> None:
            dv[:] = sv
        method = "memoryview slice copy (numpy not installed)"
    copy()  # touch every page first
    rates = []
    end = time.perf_counter() + seconds
    while len(rates) < 3 or time.perf_counter() < end:
        t0 = time.perf_counter()
        copy()
        rates.append(2 * nbytes / (time.perf_counter() - t0))
    return {"bytes_per_second": max(rates), "noise_bytes_per_second": spread(rates),
            "passes": len(rates), "buffer_bytes": nbytes, "method": method,
            "counting": "bytes read + bytes written (STREAM Copy)"}


def _open_direct(path: str, flags: int) -> tuple[int, bool]:
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            return os.open(path, flags | direct, 0o600), True
        except OSError:
            pass
    return os.open(path, flags, 0o600), False


def disk(scratch_dir: str, size_cap: int, seconds: float, progress: ProgressFn = no_progress) -> dict:
    """Sequential write/read and random 4 KiB read IOPS on a file of at most ``size_cap`` bytes
    in ``scratch_dir`` (created if missing), each phase bounded by a third of ``seconds``."""
    os.makedirs(scratch_dir, exist_ok=True)
    size = max(BLOCK, size_cap // BLOCK * BLOCK)
    path = os.path.join(scratch_dir, f"autobot-bench-{uuid.uuid4().hex}.dat")
    phase = seconds / 3
    buf = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
    buf.write(os.urandom(BLOCK))
    try:
        written, w_time, w_rates, direct = _seq_write(path, buf, size, phase, progress)
        progress("system: disk sequential read", 0.0)
        fd, r_direct = _open_direct(path, os.O_RDONLY)
        try:
            if not r_direct:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            read, r_time, r_rates = _seq_read(fd, buf, written)
            progress("system: disk random 4 KiB read", 0.0)
            if not r_direct:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n, iops_time = _random_reads(fd, written // PAGE, phase)
        finally:
            os.close(fd)
    finally:
        buf.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    method = "O_DIRECT" if direct and r_direct else "buffered write + fsync, posix_fadvise(DONTNEED)"
    return {"scratch_dir": scratch_dir, "file_bytes": written, "method": method,
            "write_bytes_per_second": written / w_time if w_time > 0 else None,
            "write_noise_bytes_per_second": _block_noise(w_rates),
            "read_bytes_per_second": read / r_time if r_time > 0 else None,
            "read_noise_bytes_per_second": _block_noise(r_rates),
            "random_read_4k_iops": n / iops_time if iops_time > 0 else None,
            "random_read_queue_depth": 1,
            "note": None if direct else "page cache not bypassed with O_DIRECT on this filesystem"}


def _seq_write(path: str, buf: mmap.mmap, size: int, phase: float,
               progress: ProgressFn) -> tuple[int, float, list[float], bool]:
    """Write ``buf`` blocks to a new ``path`` until ``size`` bytes or ``phase`` seconds (at least
    one block), then fsync. Returns ``(bytes written, seconds, per-block bytes/s, O_DIRECT?)``."""
    fd, direct = _open_direct(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    written, w_rates = 0, []
    t0 = time.perf_counter()
    try:
        while written < size and (time.perf_counter() - t0 < phase or written == 0):
            s = time.perf_counter()
            written += os.write(fd, buf)
            w_rates.append(BLOCK / (time.perf_counter() - s))
            if written % (16 * BLOCK) == 0:
                progress("system: disk sequential write", (time.perf_counter() - t0) / phase)
        os.fsync(fd)
    finally:
        os.close(fd)
    return written, time.perf_counter() - t0, w_rates, direct


def _seq_read(fd: int, buf: mmap.mmap, size: int) -> tuple[int, float, list[float]]:
    """Read ``fd`` from offset 0 into ``buf`` until ``size`` bytes or end of file. Returns
    ``(bytes read, seconds, per-read bytes/s)``."""
    read, r_rates = 0, []
    t0 = time.perf_counter()
    while read < size:
        s = time.perf_counter()
        got = os.preadv(fd, [buf], read)
        if got <= 0:
            break
        read += got
        r_rates.append(got / (time.perf_counter() - s))
    return read, time.perf_counter() - t0, r_rates


def _random_reads(fd: int, pages: int, phase: float) -> tuple[int, float]:
    """Read random ``PAGE``-sized pages (of the first ``pages``) of ``fd``, one at a time, for
    ``phase`` seconds (seeded, so runs read the same offsets). Returns ``(reads, seconds)``."""
    small = mmap.mmap(-1, PAGE)
    rng = random.Random(0)
    n = 0
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < phase:
            os.preadv(fd, [small], rng.randrange(pages) * PAGE)
            n += 1
    finally:
        small.close()
    return n, time.perf_counter() - t0


def _block_noise(rates: list[float], groups: int = 5) -> float | None:
    """Spread of the mean rate over ``groups`` consecutive groups of blocks."""
    if len(rates) < groups * 2:
        return None
    k = len(rates) // groups
    return spread([sum(rates[i * k:(i + 1) * k]) / k for i in range(groups)])


def gpu() -> dict:
    """NVML device list, or ``{"measured": False, "note": why}``; bandwidth is never measured
    here (no GPU framework is a dependency)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as e:  # noqa: BLE001 - NVML missing or no driver: not measured
        return {"devices": [], "measured": False, "note": f"not measured: no NVML ({type(e).__name__})"}
    try:
        devs = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            devs.append({"index": i, "name": name.decode() if isinstance(name, bytes) else name,
                         "memory_total_bytes": pynvml.nvmlDeviceGetMemoryInfo(h).total})
    finally:
        pynvml.nvmlShutdown()
    note = ("not measured: no GPU device" if not devs else
            "bandwidth not measured: no GPU framework (torch/cupy) is installed")
    return {"devices": devs, "measured": False, "note": note}


def run(seconds: float, scratch_dir: str, size_cap: int, progress: ProgressFn = no_progress) -> dict:
    """All system figures within about ``seconds`` (CPU 30 %, memory 15 %, disk 55 %)."""
    out: dict = {"cpu": cpu(seconds * 0.3, progress)}
    progress("system: memory bandwidth", 0.0)
    out["memory"] = memory_bandwidth(seconds * 0.15)
    out["disk"] = disk(scratch_dir, size_cap, seconds * 0.55, progress)
    out["gpu"] = gpu()
    return out
