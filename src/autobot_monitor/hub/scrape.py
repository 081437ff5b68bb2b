"""Scraping Prometheus targets (agents and any other /metrics endpoint) over HTTP.

Every target is scraped concurrently with its own timeout; a slow or dead target never delays
the others. Parsing of the text runs in a worker thread (it is CPU work proportional to the
target's size).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import httpx

from ..exposition import parse
from ..model import MetricFamily, MetricSpec

SCRAPE_SPECS = (
    MetricSpec("up", "gauge", "1 if the target's last scrape succeeded, else 0.", "",
               ("job", "instance", "host")),
    MetricSpec("autobot_scrape_duration_seconds", "gauge",
               "Wall time of the target's last scrape.", "seconds", ("job", "instance", "host")),
    MetricSpec("autobot_scrape_samples_scraped", "gauge",
               "Samples the target's last scrape returned.", "", ("job", "instance", "host")),
)

MAX_BODY_BYTES = 32 * 1024 * 1024


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

    @property
    def instance(self) -> str:
        return httpx.URL(self.url).netloc.decode()


@dataclass
class ScrapeResult:
    """Outcome of one scrape. ``families`` is empty when ``ok`` is False; ``error`` is a short
    reason (``timeout``, ``HTTP 500``, ``connection refused``...)."""

    target: ScrapeTarget
    ok: bool
    duration: float
    families: list[MetricFamily]
    error: str | None
    scraped_at: float


async def scrape(client: httpx.AsyncClient, target: ScrapeTarget, timeout: float,
                 wall_time: float) -> ScrapeResult:
    """Fetch and parse ``target``. Never raises; failures come back with ``ok=False``."""
    t0 = time.perf_counter()
    headers = {"Accept": "text/plain;version=0.0.4"}
    if target.token_env and os.environ.get(target.token_env):
        headers["Authorization"] = f"Bearer {os.environ[target.token_env]}"
    elif target.token_env:
        return ScrapeResult(target, False, 0.0, [], f"token_env {target.token_env} is not set",
                            wall_time)
    try:
        async with asyncio.timeout(timeout):
            r = await client.get(target.url, headers=headers)
            if r.status_code == 401:
                raise _ScrapeFailed("HTTP 401: bearer token missing or refused")
            if r.status_code != 200:
                raise _ScrapeFailed(f"HTTP {r.status_code}")
            if len(r.content) > MAX_BODY_BYTES:
                raise _ScrapeFailed("response too large")
            text = r.text
        families = await asyncio.to_thread(parse, text)
        return ScrapeResult(target, True, time.perf_counter() - t0, families, None, wall_time)
    except TimeoutError:
        err = "timeout"
    except _ScrapeFailed as e:
        err = str(e)
    except httpx.ConnectError:
        err = "connection refused or unreachable"
    except httpx.HTTPError as e:
        err = f"{type(e).__name__}"
    except ValueError as e:
        err = f"unparseable exposition: {e}"[:200]
    return ScrapeResult(target, False, time.perf_counter() - t0, [], err, wall_time)


class _ScrapeFailed(Exception):
    pass


def scrape_families(results: list[ScrapeResult]) -> list[MetricFamily]:
    """``up``, duration and sample-count families for a set of scrape results."""
    up, dur, n = (s.family() for s in SCRAPE_SPECS)
    for r in results:
        lab = {"job": r.target.job, "instance": r.target.instance, "host": r.target.host or ""}
        up.add(1.0 if r.ok else 0.0, lab)
        dur.add(r.duration, lab)
        if r.ok:
            n.add(sum(len(f.samples) for f in r.families), lab)
    return [up, dur, n]
