"""Metric families the optimizer emits about its runs (data only: imports nothing but
:mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

OPTIMIZER_SPECS = (
    MetricSpec("autobot_optimizer_actions_total", "counter",
               "Optimizer actions by type and result (success, failure, refused, undone).", "",
               ("action", "result")),
    MetricSpec("autobot_optimizer_recommendations", "gauge",
               "Recommendations of the last analysis by category and severity.", "",
               ("category", "severity")),
    MetricSpec("autobot_optimizer_restart_given_up", "gauge",
               "1 for a service the optimizer stopped restarting (restart limit reached).", "",
               ("service",)),
    MetricSpec("autobot_optimizer_actions_last_hour", "gauge",
               "Actions counted against max_optimizations_per_hour (sliding 3600 s)."),
    MetricSpec("autobot_optimizer_last_run_timestamp_seconds", "gauge",
               "Unix time of the last optimizer analysis.", "seconds"),
)
