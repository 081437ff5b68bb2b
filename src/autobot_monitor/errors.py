"""The one exceptions module of autobot-monitor."""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error this package raises on purpose."""


class MetricNameError(MonitorError, ValueError):
    """A metric or label name breaks Prometheus naming rules."""


class ConfigError(MonitorError):
    """A configuration file is unreadable or invalid.

    ``problems`` is a list of ``FILE:LINE: key.path: what is wrong`` strings, one per problem.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class CollectorError(MonitorError):
    """A collector could not read its source (message says which file or call)."""


class StoreError(MonitorError):
    """The metric store refused a write or query."""


class QueryError(StoreError, ValueError):
    """A history query is malformed (bad range, step or matcher)."""


class BadRequest(MonitorError):
    """A request or command-line parameter is invalid (a time, a duration, a metric name); the
    API answers 400 with ``{"error": message}``, commands exit 2 with the message."""


class BenchmarkError(MonitorError):
    """A benchmark cannot run as asked (a db index not in config, no target, a missing native
    tool); the message says which and why."""


class OptimizerError(MonitorError):
    """An optimizer action cannot be built or run as asked (not in the allowlist, target not
    configured, a remote host for a local action); the message says which and why."""
