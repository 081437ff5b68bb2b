"""Metric families the embedded store and its Redis mirror emit about themselves (data only: imports
nothing but :mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

STORE_SPECS = (
    MetricSpec("autobot_store_samples_appended_total", "counter",
               "Samples the store accepted since the hub started."),
    MetricSpec("autobot_store_samples_rejected_total", "counter",
               "Samples dropped by the out-of-order rule: a timestamp equal to (duplicate) or "
               "before (out_of_order) the series' newest one.", "", ("reason",)),
    MetricSpec("autobot_store_samples_refused_total", "counter",
               "Samples refused because the store could not persist them (disk full, size cap, "
               "unwritable directory)."),
    MetricSpec("autobot_store_writes_refused", "gauge",
               "1 while the store refuses writes (see the hub log for why), else 0."),
    MetricSpec("autobot_store_chunks_corrupt_total", "counter",
               "Stored chunks skipped at read time because their checksum or encoding is bad.",
               "", ("tier",)),
    MetricSpec("autobot_store_chunks_dropped_total", "counter",
               "Whole chunks deleted by retention or by a tier's size cap.", "", ("tier", "reason")),
    MetricSpec("autobot_store_chunk_bytes", "gauge",
               "Compressed chunk bytes held per tier.", "bytes", ("tier",)),
    MetricSpec("autobot_store_disk_bytes", "gauge",
               "Bytes on disk of the store: database, its journal and the write-ahead log.", "bytes"),
    MetricSpec("autobot_store_wal_bytes", "gauge",
               "Size of the store's write-ahead log.", "bytes"),
    MetricSpec("autobot_store_series", "gauge", "Series known to the store."),
    MetricSpec("autobot_store_head_samples", "gauge",
               "Samples held in memory (and in the write-ahead log) not yet in chunks."),
    MetricSpec("autobot_store_wal_replayed_samples_total", "counter",
               "Samples recovered from the write-ahead log when the store opened."),
    MetricSpec("autobot_store_samples_future_dropped_total", "counter",
               "Stored samples deleted because they were stamped ahead of the wall clock (found "
               "at start, or after the clock stepped back)."),
    MetricSpec("autobot_store_flush_duration_seconds", "gauge",
               "Wall time of the last flush of the head into chunks.", "seconds"),
)

MIRROR_SPECS = (
    MetricSpec("autobot_store_redis_up", "gauge", "1 if the last write to the Redis mirror worked, else 0."),
    MetricSpec("autobot_store_redis_backlog_entries", "gauge",
               "Cycles waiting for the Redis mirror (bounded by storage.redis.backlog_max)."),
    MetricSpec("autobot_store_redis_mirrored_total", "counter", "Cycles written to the Redis stream."),
    MetricSpec("autobot_store_redis_dropped_total", "counter",
               "Cycles dropped from the mirror backlog because it was full while Redis was down."),
)
