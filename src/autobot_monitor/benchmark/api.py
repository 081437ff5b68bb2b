"""API benchmark: HTTP endpoints, closed-loop and open-loop, with httpx.AsyncClient.

* Closed loop: ``concurrency`` workers, each sending the next request as soon as the previous
  answer arrived (like wrk). Gives the maximum throughput; latency hides queueing (coordinated
  omission), so it is not the figure scored.
* Open loop: requests scheduled at a fixed ``rate`` (default half the closed-loop throughput);
  latency is measured from each request's *intended* send time, so time spent waiting for a free
  connection counts (like wrk2). Its p95 is the scored API latency.

Latency figures are seconds, from the request start (closed) or intended start (open) to the full
response body; transport errors (timeout, refused) have no latency and count as errors, as does a
status other than ``expected_status``. Percentiles: :mod:`.stats` (type 7).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from .base import SLICES, CpuMeter, ProgressFn, no_progress, slice_index
from .stats import LATENCY_BUCKETS_S, Reservoir, histogram, percentile_summary, spread

PER_SLICE_CAP = 200_000  # latency samples kept per time slice (reservoir beyond that)


@dataclass(frozen=True)
class Endpoint:
    """One HTTP target: ``name``, ``url``, ``method`` (GET/HEAD), ``expected_status``,
    ``timeout`` (s), ``verify_tls``."""

    name: str
    url: str
    method: str = "GET"
    expected_status: int = 200
    timeout: float = 10.0
    verify_tls: bool = True


class _Recorder:
    def __init__(self, duration: float):
        self.duration = duration
        self.slices = [Reservoir(PER_SLICE_CAP) for _ in range(SLICES)]
        self.codes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.bad = 0
        self.total = 0

    def ok(self, t_rel: float, latency: float, status: int, expected: int) -> None:
        self.total += 1
        self.codes[str(status)] += 1
        if status != expected:
            self.bad += 1
        self.slices[slice_index(t_rel, self.duration)].add(latency)

    def error(self, exc: BaseException | str) -> None:
        self.total += 1
        self.bad += 1
        self.errors[exc if isinstance(exc, str) else type(exc).__name__] += 1

    def result(self, wall: float) -> dict:
        allv = [v for r in self.slices for v in r.data]
        lat = percentile_summary(allv)
        return {
            "requests": self.total,
            "duration_seconds": wall,
            "throughput_per_second": self.total / wall if wall > 0 else None,
            "latency_seconds": lat,
            "latency_histogram": histogram(allv, LATENCY_BUCKETS_S),
            "latency_p50_noise_seconds": spread([percentile_summary(r.data)["p50"] for r in self.slices]),
            "latency_p95_noise_seconds": spread([percentile_summary(r.data)["p95"] for r in self.slices]),
            "latency_sampled": any(r.sampled for r in self.slices),
            "status_codes": dict(self.codes),
            "errors": dict(self.errors),
            "error_rate": self.bad / self.total if self.total else None,
        }


async def _send(client: httpx.AsyncClient, ep: Endpoint) -> int:
    r = await client.request(ep.method, ep.url)
    await r.aread()
    return r.status_code


def _client(ep: Endpoint, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=ep.timeout, verify=ep.verify_tls,
                             follow_redirects=False)


async def closed_loop(ep: Endpoint, concurrency: int, duration: float,
                      progress: ProgressFn = no_progress) -> dict:
    """``concurrency`` workers for ``duration`` seconds; returns the figures described in the
    module docstring plus ``mode``, ``concurrency`` and the client CPU check."""
    if concurrency < 1 or duration <= 0:
        raise ValueError("concurrency must be >= 1 and duration > 0")
    rec = _Recorder(duration)
    meter = CpuMeter()
    t0 = time.perf_counter()
    end = t0 + duration

    async def worker(client: httpx.AsyncClient) -> None:
        while (start := time.perf_counter()) < end:
            try:
                status = await _send(client, ep)
            except httpx.HTTPError as e:
                rec.error(e)
                await asyncio.sleep(0.01)  # a refused connection must not spin the loop
                continue
            rec.ok(start - t0, time.perf_counter() - start, status, ep.expected_status)

    async def ticker() -> None:
        while (now := time.perf_counter()) < end:
            progress(f"api {ep.name}: closed loop x{concurrency}", (now - t0) / duration)
            await asyncio.sleep(0.2)

    async with _client(ep, concurrency) as client:
        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        tick.cancel()
    out = rec.result(time.perf_counter() - t0)
    return {"mode": "closed", "concurrency": concurrency, **out, **meter.result()}


async def open_loop(ep: Endpoint, rate: float, duration: float, max_inflight: int,
                    progress: ProgressFn = no_progress) -> dict:
    """Requests at ``rate`` per second for ``duration`` seconds, at most ``max_inflight`` at once
    (later ones wait, and that wait counts in their latency). Requests still waiting
    ``ep.timeout`` seconds after the schedule ended count as errors ``not sent in time``."""
    if rate <= 0 or duration <= 0 or max_inflight < 1:
        raise ValueError("rate and duration must be > 0 and max_inflight >= 1")
    rec = _Recorder(duration)
    meter = CpuMeter()
    sem = asyncio.Semaphore(max_inflight)
    n = max(1, math.floor(rate * duration))
    t0 = time.perf_counter()

    async def one(client: httpx.AsyncClient, intended: float) -> None:
        async with sem:
            try:
                status = await _send(client, ep)
            except httpx.HTTPError as e:
                rec.error(e)
                return
            rec.ok(intended - t0, time.perf_counter() - intended, status, ep.expected_status)

    async with _client(ep, max_inflight) as client:
        tasks = []
        for i in range(n):
            intended = t0 + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, intended)))
            if i % 64 == 0:
                progress(f"api {ep.name}: open loop {rate:.0f}/s", i / n)
        done, pending = await asyncio.wait(tasks, timeout=ep.timeout) if tasks else (set(), set())
        for t in pending:
            t.cancel()
            rec.error("not sent in time")
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    out = rec.result(time.perf_counter() - t0)
    out["scheduled"] = n
    return {"mode": "open", "rate_per_second": rate, "max_inflight": max_inflight, **out,
            **meter.result()}


async def run_endpoint(ep: Endpoint, concurrency: int, duration: float, rate: float | None,
                       progress: ProgressFn = no_progress) -> dict:
    """Closed loop for half of ``duration``, then open loop for the other half at ``rate`` (None:
    half the closed-loop throughput, at least 1/s). Returns ``{name, url, closed, open}``."""
    half = duration / 2
    closed = await closed_loop(ep, concurrency, half, progress)
    if rate is None:
        tp = closed["throughput_per_second"] or 0.0
        rate = max(1.0, tp / 2)
    opened = await open_loop(ep, rate, half, max(concurrency, 1), progress)
    return {"name": ep.name, "url": ep.url, "closed": closed, "open": opened}
