"""HTTP client of a running hub, the Python API mirroring the spec's ``monitor_control``:
``await get_current_status()``, ``await run_optimization_cycle()``,
``await run_single_benchmark('comprehensive')``.

Status and optimizer calls talk to the hub over HTTP (httpx, async) and never run a probe
themselves; a benchmark runs on this machine in a worker thread, never on the event loop.
"""

from __future__ import annotations

import httpx

from .errors import MonitorError


class MonitorControl:
    """Client for a hub at ``url`` (default ``http://127.0.0.1:9090``).

    Raises :class:`~autobot_monitor.errors.MonitorError` when the hub cannot be reached or answers
    with an error status.
    """

    def __init__(self, url: str = "http://127.0.0.1:9090", timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None, token: str | None = None):
        """``token``: API token sent as a bearer (default ``$AUTOBOT_MONITOR_TOKEN``)."""
        import os

        self.url = url.rstrip("/")
        token = token or os.environ.get("AUTOBOT_MONITOR_TOKEN")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def _get(self, path: str, **params) -> dict:
        try:
            r = await self._client.get(path, params=params or None, headers=self._headers)
            r.raise_for_status()
            return r.json()
        except httpx.HTTPError as e:
            raise MonitorError(f"hub at {self.url}: {e}") from e

    async def get_current_status(self) -> dict:
        """``GET /api/system/status``: health score, hosts, services, alert counts."""
        return await self._get("/api/system/status")

    async def get_current_metrics(self, full: bool = False) -> dict:
        """``GET /api/metrics/current``: per-host summaries and service results."""
        return await self._get("/api/metrics/current", **({"full": "true"} if full else {}))

    async def get_alerts(self) -> dict:
        """``GET /api/alerts``: active alerts."""
        return await self._get("/api/alerts")

    async def get_history(self, metric: str, **params: str) -> dict:
        """``GET /api/metrics/history``; ``params`` as the endpoint takes them."""
        return await self._get("/api/metrics/history", metric=metric, **params)

    async def run_optimization_cycle(self, apply: bool = False) -> dict:
        """``POST /api/optimizer/run``: the hub analyses now and (``apply``) applies what its
        guardrails allow; returns the recommendations and actions of that cycle."""
        try:
            r = await self._client.post("/api/optimizer/run", json={"apply": apply},
                                        headers=self._headers, timeout=120)
            r.raise_for_status()
            return r.json()
        except httpx.HTTPError as e:
            raise MonitorError(f"hub at {self.url}: {e}") from e

    async def run_single_benchmark(self, kind: str = "comprehensive", duration: float = 60.0,
                                   config_path: str | None = None, **options) -> dict:
        """Run benchmark ``kind`` (comprehensive, api, database, network, system) on this machine
        in a worker thread, against the services of ``config_path`` (else defaults), and return
        the result document (scores, grades, every figure; see ``autobot-monitor benchmark``).
        ``options`` are :class:`~autobot_monitor.benchmark.suite.Options` fields. Raises
        :class:`~autobot_monitor.errors.BenchmarkError` for a request that cannot run."""
        import asyncio

        from .benchmark.suite import Options, run
        from .config.loader import load_config

        cfg = await asyncio.to_thread(load_config, config_path)
        return await asyncio.to_thread(run, kind, cfg, Options(duration=duration, **options))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> MonitorControl:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
