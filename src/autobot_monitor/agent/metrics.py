"""Metric families the agent emits about its latency mesh (data only: imports nothing but
:mod:`autobot_monitor.model`).
"""

from __future__ import annotations

from ..model import MetricSpec

MESH_SPECS = (
    MetricSpec("autobot_mesh_rtt_seconds", "gauge",
               "Round-trip time to a peer agent over the recent probe window (quantile 0.5, 0.99); "
               "method tcp = TCP connect, icmp = ICMP echo.", "seconds",
               ("peer", "method", "quantile")),
    MetricSpec("autobot_mesh_jitter_seconds", "gauge",
               "Mean absolute difference of consecutive RTTs to a peer in the recent window "
               "(RFC 3550 style, unsmoothed).", "seconds", ("peer", "method")),
    MetricSpec("autobot_mesh_loss_ratio", "gauge",
               "Share of probes to a peer that failed or timed out in the recent window.", "ratio",
               ("peer", "method")),
    MetricSpec("autobot_mesh_probes_total", "counter",
               "Probes sent to a peer since the agent started, by result "
               "(ok, timeout, refused, unreachable, error).", "", ("peer", "method", "result")),
)
