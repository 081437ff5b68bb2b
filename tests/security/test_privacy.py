"""Process names redacted by configured patterns before the hub stores or shows them (issue 9)."""

from __future__ import annotations

import re

from secsupport import Hub

from autobot_monitor.model import MetricFamily
from autobot_monitor.privacy import redact_process_names


def test_redaction_unit():
    f = MetricFamily("autobot_process_resident_memory_bytes", "gauge", "h", "bytes")
    f.add(1, {"pid": "1", "name": "ssh alice@host"})
    f.add(2, {"pid": "2", "name": "nginx"})
    g = MetricFamily("node_load1", "gauge", "h")
    g.add(1, {"name": "alice"})
    out = redact_process_names([f, g], [re.compile(r"\w+@\S+")])
    assert [s.label_dict["name"] for s in out[0].samples] == ["ssh ***", "nginx"]
    assert out[1] is g  # other families untouched


def test_hub_never_stores_or_shows_matching_names(tmp_path):
    hub = Hub(tmp_path, "privacy: {redact_process_names: ['^py.*']}\n"
                        "collectors: {processes: {scan_interval: 1, top_n: 50}}\n")
    try:
        hub.wait_cycles(3, token=None)
        full = hub.get("/api/metrics/current?full=true", None).json()
        names = [s["labels"]["name"] for h in full["hosts"].values() for f in h.get("families", [])
                 if f["name"].startswith("autobot_process_") for s in f["samples"]]
        assert "***" in names  # the hub itself is a python process
        assert not [n for n in names if n.startswith("py")]
        hist = hub.get("/api/metrics/history?metric=autobot_process_resident_memory_bytes&start=now-5m",
                       None).json()
        stored = {s["labels"]["name"] for s in hist["series"]}
        assert "***" in stored and not [n for n in stored if n.startswith("py")]
        assert 'name="python' not in hub.get("/metrics", None).text
    finally:
        hub.stop()
