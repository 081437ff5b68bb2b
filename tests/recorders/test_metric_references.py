"""unknown_metric_references: declared specs, dynamic prefixes and recorder families are known;
check-config refuses a rule on a product metric nothing emits and accepts recorder metrics."""

from __future__ import annotations

import os
import subprocess
import sys

from autobot_monitor.catalog import is_known_metric, unknown_metric_references

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_known_and_unknown_names():
    names = ["autobot_cpu_busy_percent",                      # a collector's spec
             "node_memory_Hugetlb_bytes",                     # a dynamic prefix
             "autobot_multimodal_processing_seconds_bucket",  # a recorder histogram's samples
             "autobot_npu_inference_total", "autobot_recorder_dropped_label_sets_total",
             "up",                                            # the hub's scrape spec
             "http_requests_total",                           # a target's own: not judged
             "autobot_gpu_inferences_total", "node_cpu_busy", "autobot_bogus", "autobot_bogus"]
    assert unknown_metric_references(names) == ["autobot_bogus", "autobot_gpu_inferences_total",
                                                 "node_cpu_busy"]
    assert unknown_metric_references([]) == []
    assert unknown_metric_references(["myapp_x_total"], prefixes=("myapp_",)) == ["myapp_x_total"]
    assert is_known_metric("autobot_operations_in_progress")
    assert not is_known_metric("autobot_multimodal_processing_seconds_created")


def _check(tmp_path, metric: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""
targets:
  - {{job: app, url: "http://127.0.0.1:8000/metrics"}}
rules:
  - {{name: AppSlow, metric: {metric}, fn: rate, window: 5m, op: ">", threshold: 1}}
""")
    return subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "check-config", str(cfg)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_check_config_reports_a_rule_on_a_metric_nothing_emits(tmp_path):
    ok = _check(tmp_path, "autobot_operation_duration_seconds_count")
    assert ok.returncode == 0, ok.stderr
    bad = _check(tmp_path, "autobot_operation_duration_second_count")
    assert bad.returncode == 2
    assert "c.yaml:" in bad.stderr and "autobot_operation_duration_second_count" in bad.stderr
