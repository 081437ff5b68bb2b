"""Network benchmark: round-trip time, jitter and loss to each configured host's agent.

Each probe opens a TCP connection to the agent's ``address`` (HOST:PORT) and closes it; the RTT
is the time ``connect()`` took (one SYN / SYN-ACK round trip plus the kernel's work on both
ends: no ICMP, so no root needed). Probes run every :data:`INTERVAL_S` for the time budget.

* ``rtt_seconds``: summary of the successful probes (p50 is the scored figure, baseline 5 ms);
* ``jitter_seconds``: mean absolute difference of consecutive RTTs (RFC 3550's idea, unsmoothed);
* ``loss_ratio``: failed probes (timeout, refused, unreachable) / probes.

Throughput (not scored: the spec gives no baseline) comes from the agent's bounded stream
endpoint (``GET /api/v1/throughput/stream``, see :mod:`autobot_monitor.agent.throughput`): one
HTTP/1.1 download of zeros over one TCP connection, agent -> this host, for a quarter of the
host's time budget (0.5 to 10 s, at most 1 GiB), timed by the receiver. An agent without the
endpoint, busy with another test (409) or refusing the token gives None with the reason in
``throughput_note``, never 0.
"""

from __future__ import annotations

import os
import socket
import ssl
import time

import httpx

from ..agent.throughput import METHOD, download
from ..config.models import HostConfig
from .base import SLICES, ProgressFn, no_progress, slice_index
from .stats import percentile_summary, spread

INTERVAL_S = 0.05
THROUGHPUT_NOTE = f"throughput: {METHOD}; not scored (no baseline)"


def throughput(host: HostConfig, seconds: float) -> tuple[dict | None, str]:
    """(result of :func:`~autobot_monitor.agent.throughput.download`, note) for ``host``'s
    agent, or (None, why not)."""
    seconds = min(10.0, max(0.5, seconds))
    url = (f"{host.scheme}://{host.address}/api/v1/throughput/stream"
           f"?duration={seconds:g}&max_bytes={1 << 30}")
    token = os.environ.get(host.token_env or "", "") if host.token_env else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=host.tls_ca) \
        if host.tls_ca else True
    try:
        with httpx.Client(timeout=seconds + 10, verify=verify) as c:
            return download(c, url, headers), METHOD
    except httpx.HTTPStatusError as e:
        code = e.response.status_code
        why = {404: "the agent has no throughput endpoint (older version)",
               409: "the agent is running another throughput test",
               401: "the agent refused the token (token_env)"}.get(code, f"HTTP {code}")
        return None, f"not measured: {why}"
    except httpx.HTTPError as e:
        return None, f"not measured: {type(e).__name__}"


def probe(address: str, timeout: float) -> float:
    """Seconds one TCP connect to ``address`` took; raises OSError on failure."""
    host, _, port = address.rpartition(":")
    t0 = time.perf_counter()
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
        return time.perf_counter() - t0


def run_host(host: HostConfig, seconds: float, timeout: float = 2.0,
             progress: ProgressFn = no_progress) -> dict:
    """Probe ``host.address`` for three quarters of ``seconds``, then measure throughput for the
    rest; returns ``{name, address, probes, rtt_seconds, jitter_seconds, loss_ratio, errors,
    throughput_bytes_per_second, throughput_megabytes_per_second, throughput, throughput_note}``
    (throughput figures None when not measured, the note says why)."""
    tput_s = seconds * 0.25
    seconds -= tput_s
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
            "rtt_seconds": percentile_summary(rtts), "jitter_seconds": jitter,
            "rtt_p50_noise_seconds": spread([percentile_summary(s)["p50"] for s in per_slice]),
            "loss_ratio": (n - len(rtts)) / n, "errors": errors,
            **_tput(host, tput_s)}


def _tput(host: HostConfig, seconds: float) -> dict:
    res, note = throughput(host, seconds)
    return {"throughput_bytes_per_second": res["bytes_per_second"] if res else None,
            "throughput_megabytes_per_second": res["megabytes_per_second"] if res else None,
            "throughput": res, "throughput_note": note}
