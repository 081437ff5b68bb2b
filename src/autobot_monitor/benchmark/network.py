"""Network benchmark: round-trip time, jitter and loss to each configured host's agent.

Each probe opens a TCP connection to the agent's ``address`` (HOST:PORT) and closes it; the RTT
is the time ``connect()`` took (one SYN / SYN-ACK round trip plus the kernel's work on both
ends: no ICMP, so no root needed). Probes run every :data:`INTERVAL_S` for the time budget.

* ``rtt_seconds``: summary of the successful probes (p50 is the scored figure, baseline 5 ms);
* ``jitter_seconds``: mean absolute difference of consecutive RTTs (RFC 3550's idea, unsmoothed);
* ``loss_ratio``: failed probes (timeout, refused, unreachable) / probes.

Throughput is not measured: the agents offer no throughput endpoint yet, and a figure that was
not measured is None with a note, never 0.
"""

from __future__ import annotations

import socket
import time

from ..config.models import HostConfig
from .base import SLICES, ProgressFn, no_progress, slice_index
from .stats import spread, summarize

INTERVAL_S = 0.05
THROUGHPUT_NOTE = "not measured: agents offer no throughput endpoint yet"


def probe(address: str, timeout: float) -> float:
    """Seconds one TCP connect to ``address`` took; raises OSError on failure."""
    host, _, port = address.rpartition(":")
    t0 = time.perf_counter()
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
        return time.perf_counter() - t0


def run_host(host: HostConfig, seconds: float, timeout: float = 2.0,
             progress: ProgressFn = no_progress) -> dict:
    """Probe ``host.address`` for ``seconds``; returns ``{name, address, probes, rtt_seconds,
    jitter_seconds, loss_ratio, errors, throughput_bytes_per_second: None, throughput_note}``."""
    rtts: list[float] = []
    per_slice: list[list[float]] = [[] for _ in range(SLICES)]
    errors: dict[str, int] = {}
    n = 0
    t0 = time.perf_counter()
    while (start := time.perf_counter()) - t0 < seconds or n < 3:
        n += 1
        try:
            rtt = probe(host.address, timeout)
        except OSError as e:
            key = type(e).__name__
            errors[key] = errors.get(key, 0) + 1
        else:
            rtts.append(rtt)
            per_slice[slice_index(start - t0, seconds)].append(rtt)
        progress(f"network: {host.name}", (time.perf_counter() - t0) / seconds)
        time.sleep(max(0.0, INTERVAL_S - (time.perf_counter() - start)))
    jitter = (sum(abs(b - a) for a, b in zip(rtts, rtts[1:], strict=False)) / (len(rtts) - 1)
              if len(rtts) >= 2 else None)
    return {"name": host.name, "address": host.address, "probes": n,
            "rtt_seconds": summarize(rtts), "jitter_seconds": jitter,
            "rtt_p50_noise_seconds": spread([summarize(s)["p50"] for s in per_slice]),
            "loss_ratio": (n - len(rtts)) / n, "errors": errors,
            "throughput_bytes_per_second": None, "throughput_note": THROUGHPUT_NOTE}
