"""Configuration: pydantic models and a YAML loader that reports FILE:LINE for every problem."""

from .loader import find_default_config, load_config, parse_config
from .models import (
    AlertThresholds,
    HostConfig,
    HttpService,
    MonitorConfig,
    RedisService,
    ServiceConfig,
    TargetConfig,
    TcpService,
)

__all__ = [
    "AlertThresholds", "HostConfig", "HttpService", "MonitorConfig", "RedisService",
    "ServiceConfig", "TargetConfig", "TcpService", "find_default_config", "load_config",
    "parse_config",
]
