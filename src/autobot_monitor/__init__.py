"""autobot-monitor: Prometheus-native performance monitoring for a small fleet of hosts."""

__version__ = "0.1.0"
