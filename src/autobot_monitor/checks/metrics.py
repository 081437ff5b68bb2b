"""Metric families the service checks emit (data only: imports nothing but
:mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

SERVICE_SPECS = (
    MetricSpec("autobot_service_up", "gauge",
               "1 if the service check succeeded (HTTP: status equals expected_status; TCP: connection "
               "opened; Redis: PING answered), 0 otherwise.", "", ("service", "type")),
    MetricSpec("autobot_service_response_time_seconds", "gauge",
               "Time the check took to get its answer (HTTP: full response; TCP: the kernel's "
               "handshake round trip; Redis: connect if needed plus PING). Absent when nothing was "
               "measured (refused, timeout).",
               "seconds", ("service", "type")),
)

HTTP_SPECS = (
    MetricSpec("autobot_http_response_status_code", "gauge",
               "HTTP status code of the last check's response (redirects not followed). Absent when "
               "no response came.", "", ("service",)),
)

_S = ("service",)

REDIS_SPECS = (
    MetricSpec("autobot_redis_ping_seconds", "gauge",
               "PING round trip on an established connection.", "seconds", _S),
    MetricSpec("autobot_redis_memory_used_bytes", "gauge",
               "Memory allocated by Redis (INFO memory used_memory).", "bytes", _S),
    MetricSpec("autobot_redis_memory_max_bytes", "gauge",
               "Configured memory limit (INFO memory maxmemory); absent when 0 (unlimited).",
               "bytes", _S),
    MetricSpec("autobot_redis_memory_fragmentation_ratio", "gauge",
               "RSS over used memory (INFO memory mem_fragmentation_ratio).", "ratio", _S),
    MetricSpec("autobot_redis_connected_clients", "gauge",
               "Client connections, this check's own included (two without TLS: one for the "
               "kernel-timed PING) (INFO clients connected_clients).", "", _S),
    MetricSpec("autobot_redis_blocked_clients", "gauge",
               "Clients blocked in BLPOP and similar (INFO clients blocked_clients).", "", _S),
    MetricSpec("autobot_redis_instantaneous_ops_per_second", "gauge",
               "Commands per second as measured by Redis itself over its last ~1.6 s of samples "
               "(INFO stats instantaneous_ops_per_sec); for a rate over the scrape interval use "
               "rate(autobot_redis_commands_processed_total).", "", _S),
    MetricSpec("autobot_redis_commands_processed_total", "counter",
               "Commands processed since start (INFO stats total_commands_processed).", "", _S),
    MetricSpec("autobot_redis_keyspace_hits_total", "counter",
               "Successful key lookups since start (INFO stats keyspace_hits).", "", _S),
    MetricSpec("autobot_redis_keyspace_misses_total", "counter",
               "Failed key lookups since start (INFO stats keyspace_misses).", "", _S),
    MetricSpec("autobot_redis_keyspace_hit_ratio", "gauge",
               "keyspace_hits / (keyspace_hits + keyspace_misses) since start; absent when both are 0.",
               "ratio", _S),
    MetricSpec("autobot_redis_evicted_keys_total", "counter",
               "Keys evicted by the maxmemory policy since start (INFO stats evicted_keys).", "", _S),
    MetricSpec("autobot_redis_expired_keys_total", "counter",
               "Keys removed on expiry since start (INFO stats expired_keys).", "", _S),
    MetricSpec("autobot_redis_db_keys", "gauge",
               "Keys in the database (INFO keyspace dbN:keys); 0 for a listed db INFO omits.",
               "", ("service", "db")),
    MetricSpec("autobot_redis_db_expiring_keys", "gauge",
               "Keys with a TTL in the database (INFO keyspace dbN:expires).", "", ("service", "db")),
    MetricSpec("autobot_redis_uptime_seconds", "gauge",
               "Seconds since the Redis server started (INFO server uptime_in_seconds).", "seconds", _S),
    MetricSpec("autobot_redis_info", "info",
               "Redis server role (INFO replication role) and version (INFO server redis_version).",
               "", ("service", "role", "version")),
)

ALL_SPECS: tuple[MetricSpec, ...] = SERVICE_SPECS + HTTP_SPECS + REDIS_SPECS
"""Every family :class:`~autobot_monitor.checks.ServiceChecker` may emit."""
