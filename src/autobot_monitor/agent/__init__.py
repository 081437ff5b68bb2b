"""The per-host agent: collects on its own interval and serves /metrics and /api/v1/snapshot."""
