"""Typed configuration (pydantic). Every model forbids unknown keys.

The top-level keys are the spec's ``monitoring_config.yaml`` keys plus ``hosts``, ``targets``,
``services``, ``storage``, ``collectors``, ``scrape``, ``logging`` and ``local_host``. With no
file at all, :class:`MonitorConfig()` monitors the local host with these defaults.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ..alerts.config import AlertingConfig, RuleConfig
from ..model import LABEL_NAME_RE
from ..optimizer.config import OptimizerConfig
from ..severity import Severity
from .base import ConfigModel
from .collectors import CollectorsConfig
from .security import AuthConfig, PrivacyConfig, TlsConfig

Priority = Literal["critical", "high", "medium", "low"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


_Model = ConfigModel


def _check_name(v: str) -> str:
    if not _NAME_RE.match(v):
        raise ValueError("must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return v


def _check_http_url(v: str) -> str:
    u = urlsplit(v)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return v


def _check_hostport(v: str) -> str:
    host, sep, port = v.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be HOST:PORT with a port 1-65535")
    return v


class AlertThresholds(_Model):
    """The spec's threshold checks: CPU/memory/disk in percent, API response time in seconds."""

    cpu_percent: float = Field(80.0, gt=0, le=100)
    memory_percent: float = Field(85.0, gt=0, le=100)
    disk_percent: float = Field(90.0, gt=0, le=100)
    api_response_time: float = Field(5.0, gt=0, description="seconds")


class _TargetLimits(_Model):
    """Per-target overrides of the ``scrape:`` limits (None: the ``scrape:`` value; 0: none)."""

    sample_limit: int | None = Field(None, ge=0, description="samples per scrape")
    label_limit: int | None = Field(None, ge=0, description="labels per sample")
    label_value_length_limit: int | None = Field(None, ge=0, description="characters")
    body_size_limit: int | None = Field(None, ge=1024, description="bytes, also decompressed")


class HostConfig(_TargetLimits):
    """A remote host running ``autobot-monitor agent``; ``address`` is the agent's HOST:PORT."""

    name: str
    address: str
    role: str = ""
    priority: Priority = "medium"
    labels: dict[str, str] = Field(default_factory=dict)
    scheme: Literal["http", "https"] = "http"
    token_env: str | None = Field(None, description="environment variable holding the bearer token")
    tls_ca: str | None = Field(None, description="CA file verifying the agent's HTTPS certificate")
    down_after: int | None = Field(None, ge=1, le=100,
                                   description="missed scrapes before down (default scrape.down_after)")

    _v_name = field_validator("name")(lambda cls, v: _check_name(v))
    _v_addr = field_validator("address")(lambda cls, v: _check_hostport(v))

    @field_validator("labels")
    @classmethod
    def _v_labels(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if not LABEL_NAME_RE.match(k) or k.startswith("__"):
                raise ValueError(f"label name {k!r} is not a valid Prometheus label name")
        return v


class TargetConfig(_TargetLimits):
    """Any other Prometheus target (node_exporter, an application's /metrics)."""

    job: str
    url: str
    labels: dict[str, str] = Field(default_factory=dict)

    _v_job = field_validator("job")(lambda cls, v: _check_name(v))

    _v_url = field_validator("url")(lambda cls, v: _check_http_url(v))


class _ServiceBase(_Model):
    name: str
    host: str | None = Field(None, description="inventory host this service belongs to")
    timeout: float = Field(5.0, gt=0, le=60, description="seconds")

    _v_name = field_validator("name")(lambda cls, v: _check_name(v))


class HttpService(_ServiceBase):
    """HTTP check: GET ``url``; up when the status equals ``expected_status``."""

    type: Literal["http"]
    url: str
    expected_status: int = Field(200, ge=100, le=599)
    method: Literal["GET", "HEAD"] = "GET"
    verify_tls: bool = True

    _v_url = field_validator("url")(lambda cls, v: _check_http_url(v))


class TcpService(_ServiceBase):
    """TCP check: connect to ``address`` (HOST:PORT); up when the connection opens."""

    type: Literal["tcp"]
    address: str

    _v_addr = field_validator("address")(lambda cls, v: _check_hostport(v))


class RedisService(_ServiceBase):
    """Redis check: PING round trip and INFO figures. The password comes from the environment
    variable named in ``password_env`` (never written in the config, never logged)."""

    type: Literal["redis"]
    address: str = "127.0.0.1:6379"
    db: int = Field(0, ge=0, le=15)
    databases: list[int] = Field(default_factory=list, description="db indexes to report keys for")
    username: str | None = None
    password_env: str | None = None
    tls: bool = False

    _v_addr = field_validator("address")(lambda cls, v: _check_hostport(v))


ServiceConfig = Annotated[HttpService | TcpService | RedisService, Field(discriminator="type")]


class RedisMirrorConfig(_Model):
    """Optional Redis mirror of the history (latest snapshot + a bounded Stream per cycle)."""

    address: str = "127.0.0.1:6379"
    db: int = Field(0, ge=0, le=15)
    password_env: str | None = None
    key_prefix: str = "autobot:monitor"
    stream_maxlen: int = Field(100_000, ge=10, description="approximate entries kept in the stream")
    backlog_max: int = Field(1000, ge=1, description="cycles buffered while Redis is down")
    timeout: float = Field(2.0, gt=0, le=30)

    _v_addr = field_validator("address")(lambda cls, v: _check_hostport(v))


class StorageConfig(_Model):
    """History settings. ``backend: embedded`` (default) keeps it in the tiered store at ``path``
    (relative to the data dir unless absolute): raw samples for ``retention_days``, 1-minute
    rollups for ``rollup_1m_retention_days``, 1-hour rollups for ``rollup_1h_retention_days``,
    each tier optionally capped in bytes. ``backend: prometheus`` reads history from
    ``prometheus_url`` (query_range) instead."""

    backend: Literal["embedded", "prometheus"] = "embedded"
    path: str = "metrics.db"
    retention_days: float = Field(15.0, gt=0)
    rollup_1m_retention_days: float = Field(90.0, gt=0)
    rollup_1h_retention_days: float = Field(730.0, gt=0)
    raw_max_bytes: int | None = Field(None, ge=4096)
    rollup_1m_max_bytes: int | None = Field(None, ge=4096)
    rollup_1h_max_bytes: int | None = Field(None, ge=4096)
    max_disk_bytes: int | None = Field(None, ge=65536, description="writes are refused past it")
    prometheus_url: str | None = None
    redis: RedisMirrorConfig | None = None

    @field_validator("prometheus_url")
    @classmethod
    def _v_url(cls, v: str | None) -> str | None:
        if v is not None:
            u = urlsplit(v)
            if u.scheme not in ("http", "https") or not u.netloc:
                raise ValueError("must be an http:// or https:// URL")
        return v


class ScrapeConfig(_Model):
    """Scrape settings. ``timeout`` must stay under ``monitoring_interval``; left out, it is
    min(5, 0.8 x monitoring_interval). The limits bound every scrape (0: no limit, except the body):
    a scrape over one stores nothing and counts as failed (``up`` 0, with the reason)."""

    timeout: float = Field(5.0, gt=0, le=60, description="seconds per target")
    down_after: int = Field(2, ge=1, le=100,
                            description="consecutive missed scrapes before a host is marked down")
    body_size_limit: int = Field(32 * 1024 * 1024, ge=1024,
                                 description="bytes per response, received and decompressed")
    sample_limit: int = Field(50_000, ge=0, description="samples per scrape")
    label_limit: int = Field(64, ge=0, description="labels per sample")
    label_value_length_limit: int = Field(2048, ge=0, description="characters per label value")


class LoggingConfig(_Model):
    """Log files under ``dir`` (relative to the data dir unless absolute), rotated at
    ``max_bytes`` keeping ``backup_count`` old files."""

    dir: str = "logs"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(10 * 1024 * 1024, ge=4096)
    backup_count: int = Field(5, ge=1, le=100)
    performance_jsonl: bool = True


class ReportsConfig(_Model):
    """Scheduled performance reports: ``schedule`` weekly (the previous ISO week),
    daily (the previous UTC day) or off; written to ``dir`` (relative to the data dir unless
    absolute) in ``formats``, at most ``keep`` files kept."""

    schedule: Literal["weekly", "daily", "off"] = "weekly"
    dir: str = "reports"
    formats: list[Literal["html", "json", "pdf"]] = Field(default_factory=lambda: ["html", "json"],
                                                          min_length=1)
    keep: int = Field(100, ge=1, le=10_000)


class LocalHostConfig(_Model):
    """The host the hub runs on, collected in-process. ``name`` defaults to the hostname;
    ``priority`` defaults to ``high`` (``critical`` would raise every resource alert of the
    monitoring machine itself one severity step)."""

    enabled: bool = True
    name: str | None = None
    role: str = "hub"
    priority: Priority = "high"


class MonitorConfig(_Model):
    """The whole configuration. Defaults monitor the local host every 10 s and serve on
    127.0.0.1:9090."""

    monitoring_interval: float = Field(10.0, ge=1, le=3600, description="seconds")
    optimization_interval: float = Field(1800.0, ge=60, description="seconds")
    dashboard_enabled: bool = True
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(9090, ge=1, le=65535)
    alert_thresholds: AlertThresholds = AlertThresholds()
    auto_optimization_enabled: bool = False
    max_optimizations_per_hour: int = Field(3, ge=0, le=60)
    optimization_severity_threshold: Severity = Severity.MEDIUM
    local_host: LocalHostConfig = LocalHostConfig()
    hosts: list[HostConfig] = Field(default_factory=list)
    targets: list[TargetConfig] = Field(default_factory=list)
    services: list[ServiceConfig] = Field(default_factory=list)
    storage: StorageConfig = StorageConfig()
    collectors: CollectorsConfig = CollectorsConfig()
    scrape: ScrapeConfig = ScrapeConfig()
    logging: LoggingConfig = LoggingConfig()
    rules: list[RuleConfig] = Field(default_factory=list)
    alerting: AlertingConfig = AlertingConfig()
    auth: AuthConfig = AuthConfig()  # tokens, sessions
    tls: TlsConfig | None = None
    privacy: PrivacyConfig = PrivacyConfig()
    reports: ReportsConfig = ReportsConfig()
    optimizer: OptimizerConfig = OptimizerConfig()

    @field_validator("scrape")
    @classmethod
    def _scrape_timeout(cls, v: ScrapeConfig, info) -> ScrapeConfig:
        """An explicit ``scrape.timeout`` must be under ``monitoring_interval`` (a hung target
        would otherwise stretch every cycle); the default shrinks to 0.8 x a short interval."""
        interval = info.data.get("monitoring_interval")
        if interval is None:
            return v
        if "timeout" not in v.model_fields_set:
            return v.model_copy(update={"timeout": min(v.timeout, 0.8 * interval)})
        if v.timeout >= interval:
            raise ValueError(f"timeout ({v.timeout:g} s) must be less than monitoring_interval "
                             f"({interval:g} s)")
        return v

    @field_validator("optimizer")
    @classmethod
    def _optimizer_services(cls, opt: OptimizerConfig, info) -> OptimizerConfig:
        """Every optimizer restart entry names a configured service (its health check)."""
        names = {s.name for s in info.data.get("services") or []}
        for i, s in enumerate(opt.services):
            if s.service not in names:
                raise ValueError(f"services[{i}]: {s.service!r} is not a configured service")
        return opt

    @field_validator("hosts", "services", "rules")
    @classmethod
    def _unique_names(cls, items: list, info) -> list:
        """Names are unique within hosts, services and rules (a rule's metric is checked by the
        rule itself)."""
        what = "rule name" if info.field_name == "rules" else "name"
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in seen:
                raise ValueError(f"duplicate {what} {item.name!r} (items [{seen[item.name]}] and [{i}])")
            seen[item.name] = i
        return items
