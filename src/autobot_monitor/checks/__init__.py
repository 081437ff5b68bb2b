"""Service checks: HTTP, TCP and Redis services probed concurrently each cycle.

Public surface: :class:`ServiceChecker` (runs the configured checks), :class:`ServiceResult`
(one outcome), :data:`ALL_SPECS` (every family the checks may emit) and :func:`redact` (masks
credentials in text).
"""

from .base import ServiceResult, redact, register_secret
from .runner import ALL_SPECS, ServiceChecker, make_check

__all__ = ["ALL_SPECS", "ServiceChecker", "ServiceResult", "make_check", "redact", "register_secret"]
