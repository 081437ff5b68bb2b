"""Shared pieces of the service checks: the result type, the check contract, the families every
check type emits, and credential redaction.

A check probes one configured service (:mod:`autobot_monitor.config.models` ``HttpService``,
``TcpService`` or ``RedisService``) and returns a :class:`ServiceResult`. Checks are async and
never block the event loop; :class:`~autobot_monitor.checks.runner.ServiceChecker` bounds each one
by its ``timeout`` and turns exceptions into "down" results.

Redaction: every error text, log line and detail value passes through
:func:`~autobot_monitor.secret_registry.redact` (URL userinfo and every registered secret masked).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from ..clock import SYSTEM_CLOCK, Clock
from ..model import MetricFamily, MetricSpec
from ..secret_registry import redact

Families = dict[str, MetricFamily]
"""Families being filled in one cycle, keyed by name (see :func:`new_families`)."""


@dataclass
class ServiceResult:
    """Outcome of one service check in one cycle.

    ``name``/``type``/``host`` come from the config (``host`` may be ``None``). ``up`` is the
    verdict. ``response_time_seconds`` is monotonic seconds, ``None`` when not measured (refused,
    timeout, missing credentials). ``status_code`` is the HTTP status (``None`` for other types or
    when no response came). ``error`` is a redacted human-readable reason, ``None`` when all went
    well. ``details`` is JSON-safe per-type data (Redis figures, HTTP body size...).
    """

    name: str
    type: str
    host: str | None
    up: bool
    response_time_seconds: float | None = None
    status_code: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "host": self.host, "up": self.up,
            "response_time_seconds": self.response_time_seconds, "status_code": self.status_code,
            "error": self.error, "details": self.details,
        }


class Check(abc.ABC):
    """One configured service. Subclasses implement :meth:`check` (may raise: the runner turns an
    exception into a down result), optionally :meth:`emit` (type-specific families from a result),
    :meth:`reset` (drop connections after a timeout) and :meth:`aclose`."""

    SPECS: tuple[MetricSpec, ...] = ()

    def __init__(self, svc: Any, clock: Clock = SYSTEM_CLOCK):
        self.svc = svc
        self.clock = clock

    @property
    def name(self) -> str:
        return self.svc.name

    def result(self, up: bool, **kw: Any) -> ServiceResult:
        return ServiceResult(self.svc.name, self.svc.type, self.svc.host, up, **kw)

    @abc.abstractmethod
    async def check(self) -> ServiceResult:
        """Probe the service once."""

    def emit(self, result: ServiceResult, fams: Families) -> None:  # noqa: B027 - optional hook
        """Add type-specific samples for ``result`` to ``fams``. Default: none."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget connections; called after the check timed out or was cancelled."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients and sockets."""


def new_families(specs: tuple[MetricSpec, ...]) -> Families:
    return {s.name: s.family() for s in specs}


class CheckFailed(Exception):
    """A check failed for a reason its message states in full (reported without a type name)."""


def describe(exc: BaseException) -> str:
    """Redacted one-line reason for ``exc``: ``Type: message`` (or ``Type`` alone); for
    :class:`CheckFailed` and :class:`TimeoutError` just the message (``timeout``)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    msg = str(exc).strip().replace("\n", " ")
    if isinstance(exc, CheckFailed):
        return redact(msg) or ""
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return redact(text) or ""


def split_hostport(address: str) -> tuple[str, int]:
    """``HOST:PORT`` -> ``(host, port)``; ``[v6]:PORT`` drops the brackets. ``ValueError`` on
    a missing or bad port."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)
