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
)
