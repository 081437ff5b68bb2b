"""Synthetic history with known answers, written through the store API into a data dir.

Two days at a 10 s interval: the *previous* day ``[START - 86400, START)`` and the report day
``[START, END)``, where END is a UTC midnight. Samples sit mid-step (``START + 10 k + 5``).
Known answers for the report day (k = 0..8639):

* host ``h1`` down for k in [1000, 1030) (300 s) and [5000, 5006) (60 s); ``h2`` always up;
  service ``web`` down for k in [8630, 8640) (100 s, ongoing at END); ``cache`` has no samples;
* ``h1`` CPU = k % 100 (previous day: 20 constant); memory 40 %; network eth0 rx 1 MB/s (lo 5 GB/s,
  excluded);
* filesystem ``MOUNT`` on h1 filling linearly 50 % -> 60 % over the day (10 points/day): full 4 days
  after END, 90 % after 3 days;
* process ``PROC`` (pid 42) on h1 at 50 % CPU (43,200 core-seconds) and 100 MiB resident;
* alerts_state.json history: HighCpuUsage fired START+1000, resolved +600 s; HostDown fired
  START+5000, resolved +300 s; one incident before START (not counted);
* benchmark runs: comprehensive 70.0 (C+... ) before START, 75.0 (B+) inside the day.
"""

from __future__ import annotations

import json
import os

from autobot_monitor.config.models import MonitorConfig
from autobot_monitor.store import Series, open_store

DAY = 86400
STEP = 10
MOUNT = "/data<script>alert(1)</script>"
PROC = "<script>evil()</script>"


def _lab(**kw) -> dict:
    return dict(sorted(kw.items()))


def cycle(t: float, k: int, day: int) -> list[Series]:
    """Samples of one hub cycle at ``t``; ``day`` 0 = previous day, 1 = report day."""
    g = "gauge"
    h1 = 0.0 if day == 1 and (1000 <= k < 1030 or 5000 <= k < 5006) else 1.0
    web = 0.0 if day == 1 and k >= 8630 else 1.0
    cpu = float(k % 100) if day == 1 else 20.0
    fs = 50.0 + 10.0 * (k * STEP + 5) / DAY if day == 1 else 40.0
    out = [
        Series("autobot_host_up", _lab(host="h1", role="db", priority="high"), [(t, h1)], g),
        Series("autobot_host_up", _lab(host="h2", role="web", priority="low"), [(t, 1.0)], g),
        Series("autobot_service_up", _lab(service="web", type="http", host="h1"), [(t, web)], g),
        Series("autobot_service_response_time_seconds", _lab(service="web", type="http", host="h1"),
               [(t, 0.05)], g),
        Series("autobot_cpu_busy_percent", _lab(host="h1", cpu="all"), [(t, cpu)], g),
        Series("autobot_cpu_busy_percent", _lab(host="h2", cpu="all"), [(t, 5.0)], g),
        Series("autobot_memory_used_percent", _lab(host="h1"), [(t, 40.0)], g),
        Series("autobot_filesystem_used_percent",
               _lab(host="h1", mountpoint=MOUNT, device="sdb1", fstype="ext4"), [(t, fs)], g),
        Series("autobot_network_receive_bytes_per_second", _lab(host="h1", device="eth0"), [(t, 1e6)], g),
        Series("autobot_network_receive_bytes_per_second", _lab(host="h1", device="lo"), [(t, 5e9)], g),
        Series("autobot_network_transmit_bytes_per_second", _lab(host="h1", device="eth0"), [(t, 2e5)], g),
    ]
    if day == 1:
        out += [Series("autobot_process_cpu_percent", _lab(host="h1", pid="42", name=PROC), [(t, 50.0)], g),
                Series("autobot_process_resident_memory_bytes", _lab(host="h1", pid="42", name=PROC),
                       [(t, 100 * 2**20)], g)]
    return out


def seed(data_dir: str, end: float, extra_hosts: int = 0) -> None:
    """Write the two days ending at ``end`` (see the module doc) into ``data_dir``'s store, plus
    the alert history and benchmark runs. ``extra_hosts`` adds hosts ``x0..`` (same shape as h1)
    for load tests."""
    start = end - DAY
    store = open_store(MonitorConfig().storage, data_dir)
    try:
        batch: list[Series] = []
        for day in (0, 1):
            base = start - DAY + day * DAY
            for k in range(DAY // STEP):
                t = base + k * STEP + 5
                batch += cycle(t, k, day)
                for i in range(extra_hosts):
                    batch += [Series(s.name, {**s.labels, "host": f"x{i}"}, s.points, s.type)
                              for s in cycle(t, k, day) if s.labels.get("host") == "h1"]
                if (t + STEP) // 600 != t // 600:  # one write per store head window (600 s)
                    store.write(batch)
                    batch = []
        store.write(batch)
    finally:
        store.close()
    hist = [
        {"time": start - 5000, "fingerprint": "old", "rule": "HighCpuUsage", "to": "firing",
         "from": "pending", "severity": "high", "labels": {"host": "h1"}},
        {"time": start - 4000, "fingerprint": "old", "rule": "HighCpuUsage", "to": "resolved",
         "from": "firing", "severity": "high", "labels": {"host": "h1"}},
        {"time": start + 1000, "fingerprint": "a1", "rule": "HighCpuUsage", "to": "firing",
         "from": "pending", "severity": "high", "labels": {"host": "h1"}},
        {"time": start + 1600, "fingerprint": "a1", "rule": "HighCpuUsage", "to": "resolved",
         "from": "firing", "severity": "high", "labels": {"host": "h1"}},
        {"time": start + 5000, "fingerprint": "b2", "rule": "HostDown", "to": "firing",
         "from": "pending", "severity": "critical", "labels": {"host": "h1"}},
        {"time": start + 5300, "fingerprint": "b2", "rule": "HostDown", "to": "resolved",
         "from": "firing", "severity": "critical", "labels": {"host": "h1"}},
    ]
    with open(os.path.join(data_dir, "alerts_state.json"), "w") as f:
        json.dump({"version": 1, "alerts": [], "silences": [], "history": hist}, f)
    bdir = os.path.join(data_dir, "logs", "benchmarks")
    os.makedirs(bdir, exist_ok=True)
    for name, t, score, grade in (("comprehensive-a.json", start - 3600, 70.0, "B+"),
                                  ("comprehensive-b.json", start + 3600, 75.0, "B+")):
        with open(os.path.join(bdir, name), "w") as f:
            json.dump({"type": "comprehensive", "started": t - 60, "finished": t,
                       "overall": {"score": score, "grade": grade},
                       "categories": {"system": {"score": score, "grade": grade}},
                       "metrics": {"system.disk_write": {"value": 600.0 if score > 72 else 700.0,
                                                         "noise": 5.0, "unit": "MB/s", "better": "higher"}}},
                      f)
