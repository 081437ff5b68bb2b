"""HTTP service check (``HttpService``): one GET or HEAD of ``url`` per cycle.

Up when the response status equals ``expected_status``. Decisions:

- Redirects are **not** followed: the status reported is the one ``url`` itself answers with. A
  service that is expected to redirect is configured with ``expected_status: 301`` (or 302...).
- The response time runs from sending the request to the last body byte (the body is streamed and
  discarded, never held in memory). Keep-alive is off, so every probe opens a fresh connection and
  the figure includes connect and TLS handshake, like a browser's first visit.
- TLS certificates are verified unless ``verify_tls: false``.
- Proxy and CA settings from the environment (``HTTP_PROXY``, ``SSL_CERT_FILE``...) are ignored
  (``trust_env=False``): the check measures the service, not a proxy.
- Credentials in the URL (``https://user:pass@host/``) are taken out of it, sent as basic auth and
  registered for redaction; they never appear in errors, details, labels or httpx's request log.
"""

from __future__ import annotations

import httpx

from ..clock import SYSTEM_CLOCK, Clock
from ..config.models import HttpService
from ..secret_registry import redact, register_url_secrets
from .base import Check, Families, ServiceResult
from .metrics import HTTP_SPECS


def split_userinfo(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """``scheme://user:pass@host/p`` -> (``scheme://host/p``, BasicAuth(user, pass)); the URL is
    passed on without credentials so that no log line (httpx logs every request URL) shows them."""
    u = httpx.URL(url)
    if not u.userinfo:
        return url, None
    return str(u.copy_with(username=None, password=None)), httpx.BasicAuth(u.username, u.password)


class HttpCheck(Check):
    """Check for one :class:`HttpService`. Holds one ``httpx.AsyncClient`` for its lifetime."""

    SPECS = HTTP_SPECS

    def __init__(self, svc: HttpService, clock: Clock = SYSTEM_CLOCK):
        super().__init__(svc, clock)
        register_url_secrets(svc.url)
        self._url, self._auth = split_userinfo(svc.url)
        self._client: httpx.AsyncClient | None = None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                verify=self.svc.verify_tls,
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self.svc.timeout),
                limits=httpx.Limits(max_keepalive_connections=0),
                headers={"User-Agent": "autobot-monitor"},
            )
        return self._client

    async def check(self) -> ServiceResult:
        svc: HttpService = self.svc
        client = self._get_client()
        details: dict = {"method": svc.method, "url": redact(svc.url)}
        t0 = self.clock.monotonic()
        try:
            async with client.stream(svc.method, self._url, auth=self._auth) as resp:
                size = 0
                async for chunk in resp.aiter_raw():
                    size += len(chunk)
            elapsed = self.clock.monotonic() - t0
        except httpx.TimeoutException as e:
            raise TimeoutError("timeout") from e
        details["body_bytes"] = size
        code = resp.status_code
        if code == svc.expected_status:
            return self.result(True, response_time_seconds=elapsed, status_code=code, details=details)
        return self.result(False, response_time_seconds=elapsed, status_code=code, details=details,
                           error=f"status {code}, expected {svc.expected_status}")

    def emit(self, result: ServiceResult, fams: Families) -> None:
        if result.status_code is not None:
            fams["autobot_http_response_status_code"].add(result.status_code, {"service": result.name})

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
