"""Metric families the collector runner emits about itself (data only: imports nothing but
:mod:`autobot_monitor.model`). Each collector's own families stay on its class (``SPECS``).
"""

from __future__ import annotations

from ..model import MetricSpec

SELF_SPECS = (
    MetricSpec("autobot_scrape_collector_duration_seconds", "gauge",
               "Wall time the collector's last run took.", "seconds", ("collector",)),
    MetricSpec("autobot_scrape_collector_success", "gauge",
               "1 if the collector's last run succeeded, 0 if it raised or timed out.",
               "", ("collector",)),
    MetricSpec("autobot_scrape_collector_cpu_seconds_total", "counter",
               "CPU time (thread time of its worker) the collector's runs used since start; a "
               "timed-out run counts once it ends.", "seconds", ("collector",)),
    MetricSpec("autobot_scrape_collector_interval_seconds", "gauge",
               "Seconds between the starts of the collector's last two runs (its effective "
               "interval; in the cycles between runs its last families are served again).",
               "seconds", ("collector",)),
)
