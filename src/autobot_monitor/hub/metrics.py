"""Metric families the hub emits about itself: cycles, scrapes, schedule, data directory (data only:
imports nothing but :mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

HUB_SPECS = (
    MetricSpec("autobot_hub_cycle_duration_seconds", "gauge",
               "Wall time of the hub's last collection cycle.", "seconds"),
    MetricSpec("autobot_hub_store_write_duration_seconds", "gauge",
               "Wall time of the last write of a cycle to the store.", "seconds"),
    MetricSpec("autobot_hub_samples_stored_total", "counter",
               "Samples written to the store since the hub started."),
    MetricSpec("autobot_hub_store_errors_total", "counter",
               "Store writes that failed since the hub started."),
    MetricSpec("autobot_host_up", "gauge",
               "1 while the inventory host is up (fewer than down_after scrapes missed in a row), "
               "else 0.", "",
               ("host", "role", "priority")),
)

SCRAPE_SPECS = (
    MetricSpec("up", "gauge", "1 if the target's last scrape succeeded, else 0.", "",
               ("job", "instance", "host")),
    MetricSpec("autobot_scrape_duration_seconds", "gauge",
               "Wall time of the target's last scrape.", "seconds", ("job", "instance", "host")),
    MetricSpec("autobot_scrape_samples_scraped", "gauge",
               "Samples the target's last scrape returned.", "", ("job", "instance", "host")),
    MetricSpec("autobot_scrape_failures_total", "counter",
               "Failed scrapes of the target since the hub started, by reason (timeout, "
               "connection, http_status, body_size_limit, sample_limit, label_limit, ...).", "",
               ("job", "instance", "host", "reason")),
    MetricSpec("autobot_scrape_samples_duplicate_total", "counter",
               "Samples dropped since the hub started because an earlier sample of the same "
               "scrape had the same name and labels (the first one is kept).", "",
               ("job", "instance", "host")),
)

SCHEDULE_SPECS = (
    MetricSpec("autobot_hub_cycles_overrun_total", "counter",
               "Cycles that ended after the next one was due (the next one then started at "
               "once instead of on its slot)."),
)

DATA_DIR_SPECS = (
    MetricSpec("autobot_hub_data_dir_ok", "gauge",
               "1 while the data dir, the store file and the log directory are the ones the hub "
               "opened at start (same device and inode), else 0 (see /healthz for the reason)."),
)
