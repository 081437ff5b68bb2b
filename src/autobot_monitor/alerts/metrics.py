"""Metric families of alert evaluation and notification (data only: imports nothing but
:mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

ALERT_SPECS = (
    MetricSpec("autobot_performance_alerts_total", "counter",
               "Alerts that started firing, by category and severity.", "", ("category", "severity")),
    MetricSpec("autobot_active_alerts", "gauge", "Alerts firing now, by severity.", "", ("severity",)),
    MetricSpec("autobot_alert_rule_series", "gauge",
               "Label sets the rule matched this cycle (0: its metric is absent).", "", ("rule",)),
    MetricSpec("autobot_alert_evaluation_duration_seconds", "gauge",
               "Wall time of the last evaluation of all rules.", "seconds"),
)

NOTIFY_SPEC = MetricSpec("autobot_notifications_total", "counter",
                         "Notification deliveries per channel and result (sent, failed, dropped).",
                         "", ("channel", "result"))
