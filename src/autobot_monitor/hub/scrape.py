"""Scraping Prometheus targets (agents and any other /metrics endpoint) over HTTP.

Every target is scraped concurrently with its own timeout; a slow or dead target never delays
the others. Scrapes are bounded the way Prometheus bounds them: the body is streamed and its size
capped while it is read (compressed and decompressed), samples, labels per sample and label value
lengths are capped per target, and a scrape over any limit stores nothing (``up`` = 0 with the
reason). Parsing runs in a worker thread (CPU work proportional to the target's size), after the
sample count is checked, so an oversized target costs no parse.

A request sent on a pooled connection that the server closed while it sat idle (keep-alive
timeout racing the next scrape: "Server disconnected without sending a response") is retried
once on a fresh connection, as Go's HTTP client does for Prometheus.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import ssl
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..exposition import INTERVAL_HEADER, parse
from ..model import MetricFamily, Sample
from .metrics import SCRAPE_SPECS

MAX_BODY_BYTES = 32 * 1024 * 1024
# How long the hub keeps an idle pooled connection: well under the agent's keep-alive
# (agent.app.KEEP_ALIVE_SECONDS), so the hub never sends on a connection the agent is closing.
POOL_KEEPALIVE_SECONDS = 30.0
# Labels the hub owns on every scraped sample (honor_labels: false).
RESERVED_LABELS = ("host", "job", "instance")


@dataclass(frozen=True)
class ScrapeLimits:
    """Per-target bounds. ``body_size_limit`` in bytes applies to the body as received and as
    decompressed; ``sample_limit`` samples per scrape, ``label_limit`` labels per sample,
    ``label_value_length_limit`` characters per label value; 0 means no limit (not for the body)."""

    body_size_limit: int = MAX_BODY_BYTES
    sample_limit: int = 50_000
    label_limit: int = 64
    label_value_length_limit: int = 2048


@dataclass
class ScrapeTarget:
    """One target: ``job`` name, ``url`` of its /metrics, the inventory ``host`` it belongs to
    (None for a plain target), extra ``labels`` and an optional bearer token env var."""

    job: str
    url: str
    host: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    token_env: str | None = None
    tls_ca: str | None = None  # CA file verifying an https target (None: system CAs)
    limits: ScrapeLimits = ScrapeLimits()
    # sent to an agent (X-Autobot-Scrape-Interval-Seconds) so it collects on the hub's cycle
    interval_s: float | None = None

    @property
    def instance(self) -> str:
        return httpx.URL(self.url).netloc.decode()

    def target_labels(self) -> dict[str, str]:
        """The labels the hub puts on every sample of this target: ``host`` for an agent,
        ``job`` and ``instance`` for a plain target, then the configured ``labels``."""
        own = {"host": self.host} if self.host is not None else {
            "job": self.job, "instance": self.instance}
        return {**own, **self.labels}


@dataclass
class ScrapeResult:
    """Outcome of one scrape. ``families`` is empty when ``ok`` is False; ``error`` is a short
    human reason (``timeout``, ``HTTP 500``, ``sample_limit exceeded: ...``) and ``reason`` its
    low-cardinality code for the ``reason`` label (``timeout``, ``http_status``...)."""

    target: ScrapeTarget
    ok: bool
    duration: float
    families: list[MetricFamily]
    error: str | None
    scraped_at: float
    reason: str | None = None
    duplicates: int = 0  # samples dropped: same name and labels as an earlier one (first wins)
    digest: bytes | None = None  # blake2b of the body (agents only: see :func:`mark_repeats`)
    repeat: bool = False  # an agent answered the collection it answered last time


def mark_repeats(scrapes: list[ScrapeResult], last: dict[str, bytes]) -> None:
    """Flag each agent scrape whose body is byte-identical to that agent's previous one as a
    ``repeat``: no collection happened in between (an agent's exposition carries each
    collection's own durations), so its samples are not new measurements and must not be
    stored again under this cycle's timestamp (a counter would read as a rate of 0). ``last``
    (url -> digest) is updated in place."""
    for r in scrapes:
        if r.ok and r.digest is not None:
            r.repeat = last.get(r.target.url) == r.digest
            last[r.target.url] = r.digest


class ScrapeError(Exception):
    """A failed scrape: ``reason`` (label-safe code) and a message for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


_RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


async def scrape(client: httpx.AsyncClient, target: ScrapeTarget, timeout: float,
                 wall_time: float) -> ScrapeResult:
    """Fetch and parse ``target`` within ``timeout`` seconds (fetch and parse together; a parse
    cut by the timeout finishes in its worker thread, bounded by ``sample_limit``). Never raises
    but on cancellation; failures come back with ``ok=False`` and a ``reason``."""
    t0 = time.perf_counter()
    headers = {"Accept": "text/plain;version=0.0.4", "Accept-Encoding": "gzip"}
    if target.interval_s is not None:
        headers[INTERVAL_HEADER] = f"{target.interval_s:g}"
    try:
        if target.token_env and os.environ.get(target.token_env):
            headers["Authorization"] = f"Bearer {os.environ[target.token_env]}"
        elif target.token_env:
            raise ScrapeError("token_missing", f"token_env {target.token_env} is not set")
        async with asyncio.timeout(timeout):
            body = await _fetch(client, target.url, headers, target.limits.body_size_limit)
            families = await asyncio.to_thread(parse_limited, body, target.limits)
        families, dups = drop_duplicates(families)
        digest = hashlib.blake2b(body, digest_size=16).digest() if target.interval_s else None
        return ScrapeResult(target, True, time.perf_counter() - t0, families, None, wall_time,
                            duplicates=dups, digest=digest)
    except (TimeoutError, httpx.TimeoutException):
        reason, err = "timeout", "timeout"
    except ScrapeError as e:
        reason, err = e.reason, str(e)
    except httpx.ConnectError:
        reason, err = "connection", "connection refused or unreachable"
    except httpx.HTTPError as e:
        reason, err = "protocol", type(e).__name__
    return ScrapeResult(target, False, time.perf_counter() - t0, [], err, wall_time, reason)


async def _fetch(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                 limit: int) -> bytes:
    """The body of ``GET url`` (decompressed), at most ``limit`` bytes. Raises ScrapeError or
    httpx.HTTPError. A connection lost before any response header is retried once."""
    for attempt in (1, 2):
        answered = False
        try:
            async with client.stream("GET", url, headers=headers) as r:
                answered = True
                if r.status_code == 401:
                    raise ScrapeError("http_status", "HTTP 401: bearer token missing or refused")
                if r.status_code != 200:
                    raise ScrapeError("http_status", f"HTTP {r.status_code}")
                return await _read_capped(r, limit)
        except _RETRYABLE:
            if answered or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _read_capped(r: httpx.Response, limit: int) -> bytes:
    """Read ``r``'s raw body, decompressing gzip/deflate with a bounded output, and raise
    ScrapeError ``body_size_limit`` as soon as either size passes ``limit`` bytes."""
    declared = r.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ScrapeError("body_size_limit", f"body_size_limit exceeded: {declared} bytes declared"
                                             f" > {limit}")
    encoding = r.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "deflate", "x-gzip"):
        raise ScrapeError("content_encoding", f"unsupported Content-Encoding {encoding[:40]!r}")
    inflate = None if encoding in ("identity", "") else zlib.decompressobj(32 + zlib.MAX_WBITS)
    out, raw = bytearray(), 0
    async for chunk in r.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise ScrapeError("body_size_limit", f"body_size_limit exceeded: more than {limit} "
                                                 "bytes received")
        if inflate is None:
            out += chunk
            continue
        try:
            while chunk:
                out += inflate.decompress(chunk, limit - len(out) + 1)
                if len(out) > limit:
                    raise ScrapeError("body_size_limit", "body_size_limit exceeded: more than "
                                                         f"{limit} bytes decompressed")
                chunk = inflate.unconsumed_tail
        except zlib.error as e:
            raise ScrapeError("content_encoding", f"bad {encoding} body: {e}") from None
    return bytes(out)


def parse_limited(body: bytes, limits: ScrapeLimits) -> list[MetricFamily]:
    """Parse an exposition body under ``limits`` (blocking: run it in a worker thread). The
    samples are counted before parsing (stopping at the limit), so an oversized body is refused
    without being parsed. Raises ScrapeError (``sample_limit``, ``label_limit``,
    ``label_value_length_limit``, ``parse``)."""
    text = body.decode("utf-8", errors="replace")
    if limits.sample_limit and _count_samples(text, limits.sample_limit) > limits.sample_limit:
        raise ScrapeError("sample_limit", f"sample_limit exceeded: more than "
                                          f"{limits.sample_limit} samples")
    try:
        families = parse(text)
    except ValueError as e:
        raise ScrapeError("parse", f"unparseable exposition: {e}"[:200]) from None
    for fam in families:
        for s in fam.samples:
            if limits.label_limit and len(s.labels) > limits.label_limit:
                raise ScrapeError("label_limit", f"label_limit exceeded: {s.name} has "
                                                 f"{len(s.labels)} labels > {limits.label_limit}")
            if limits.label_value_length_limit:
                for k, v in s.labels:
                    if len(v) > limits.label_value_length_limit:
                        raise ScrapeError("label_value_length_limit",
                                          f"label_value_length_limit exceeded: {s.name} label "
                                          f"{k} has {len(v)} characters > "
                                          f"{limits.label_value_length_limit}")
    return families


def drop_duplicates(families: list[MetricFamily]) -> tuple[list[MetricFamily], int]:
    """``families`` without the samples whose (name, labels) an earlier sample of the same scrape
    already had (first wins, as the store keeps one value per series and timestamp), and how
    many were dropped. The input is not modified."""
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    out, dropped = [], 0
    for f in families:
        fam = MetricFamily(f.name, f.type, f.help, f.unit)
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels)))
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            fam.samples.append(s)
        out.append(fam)
    return (out, dropped) if dropped else (families, 0)


def _count_samples(text: str, stop_after: int) -> int:
    """Sample lines in ``text`` (not blank, not ``#``), counting no further than ``stop_after``+1."""
    n = 0
    for line in io.StringIO(text):
        s = line.lstrip()
        if s and s[0] != "#":
            n += 1
            if n > stop_after:
                break
    return n


def with_target_labels(families: list[MetricFamily], target: ScrapeTarget) -> list[MetricFamily]:
    """Copies of ``families`` carrying ``target``'s labels, Prometheus's ``honor_labels: false``:
    the hub's labels win; a scraped label of the same name, or one of the hub's reserved names
    (host, job, instance), is kept as ``exported_<name>`` (``exported_exported_<name>``... if
    that is taken too)."""
    own = target.target_labels()
    owned = set(own) | set(RESERVED_LABELS)
    out = []
    for f in families:
        fam = MetricFamily(f.name, f.type, f.help, f.unit)
        for s in f.samples:
            d = dict(s.labels)
            for k in owned & d.keys():
                new = "exported_" + k
                while new in d or new in own:
                    new = "exported_" + new
                d[new] = d.pop(k)
            d.update(own)
            fam.samples.append(Sample(s.name, tuple(sorted(d.items())), s.value, s.timestamp))
        out.append(fam)
    return out


async def scrape_all(jobs: list[tuple[httpx.AsyncClient, ScrapeTarget]], timeout: float,
                     wall_time: float, stop: asyncio.Event) -> list[ScrapeResult]:
    """Scrape every ``(client, target)`` concurrently. When ``stop`` is set first, the scrapes in
    flight are cancelled and ScrapesCancelled raised: nothing half-scraped reaches the store."""
    if not jobs:
        return []
    everything = asyncio.gather(*(scrape(c, t, timeout, wall_time) for c, t in jobs))
    stopped = asyncio.ensure_future(stop.wait())
    either: list[asyncio.Future[Any]] = [everything, stopped]
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not everything.done():
        everything.cancel()
        await asyncio.gather(everything, return_exceptions=True)
        raise ScrapesCancelled
    stopped.cancel()
    return list(everything.result())


class ScrapesCancelled(Exception):
    """The hub is stopping: the scrapes of the cycle in flight were abandoned."""


def scrape_client(timeout: float, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """HTTP client for scrapes: no redirects, idle pooled connections dropped after
    POOL_KEEPALIVE_SECONDS (under the agent's keep-alive, so never reused as it closes)."""
    return httpx.AsyncClient(follow_redirects=False, timeout=timeout, verify=verify,
                             limits=httpx.Limits(keepalive_expiry=POOL_KEEPALIVE_SECONDS))


def limits_for(defaults: object, t: object) -> ScrapeLimits:
    """The limits of a host or target config ``t``: its own where set (not None), else those of
    ``defaults`` (the ``scrape:`` section)."""
    return ScrapeLimits(*(getattr(defaults, k) if getattr(t, k) is None else getattr(t, k)
                          for k in ("body_size_limit", "sample_limit", "label_limit",
                                    "label_value_length_limit")))


def scrape_families(results: list[ScrapeResult],
                    failures: dict[tuple[str, str, str, str], int] | None = None,
                    duplicates: dict[tuple[str, str, str], int] | None = None
                    ) -> list[MetricFamily]:
    """``up``, duration, sample-count, failure-count and duplicate-count families for a set of
    scrape results; ``failures`` maps (job, instance, host, reason) to failed scrapes so far,
    ``duplicates`` (job, instance, host) to duplicate samples dropped so far."""
    up, dur, n, fail, dup = (s.family() for s in SCRAPE_SPECS)
    for r in results:
        lab = {"job": r.target.job, "instance": r.target.instance, "host": r.target.host or ""}
        up.add(1.0 if r.ok else 0.0, lab)
        dur.add(r.duration, lab)
        if r.ok:
            n.add(sum(len(f.samples) for f in r.families), lab)
    for (job, instance, host, reason), count in sorted((failures or {}).items()):
        fail.add(count, {"job": job, "instance": instance, "host": host, "reason": reason})
    for (job, instance, host), count in sorted((duplicates or {}).items()):
        dup.add(count, {"job": job, "instance": instance, "host": host})
    return [up, dur, n, fail, dup]
