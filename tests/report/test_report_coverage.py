"""Coverage-aware availability: up, down and unknown time. Three minutes of data in a day is
0.2 % coverage, never "100 % uptime of the day"; a low-coverage report says so in its first
line; the share of time above a threshold is of the monitored time; report charts break at holes;
the hub's 24 h figures carry coverage and up/down/unknown seconds."""

from __future__ import annotations

import json
import math
import re

import pytest

from autobot_monitor.cli import main
from autobot_monitor.report.availability import availability_24h as _availability
from autobot_monitor.report.render import host_figure
from autobot_monitor.store import Series, TieredStore

DAY = 86400
END = 1_700_006_400.0  # a UTC midnight... of some day; only the arithmetic matters
START = END - DAY


def three_minutes(path: str, at: float, hosts_down: int = 0) -> TieredStore:
    """12 cycles 15 s apart from ``at``: host ``h`` up (down for the first ``hosts_down``),
    its CPU at 100 %."""
    s = TieredStore(path)
    for k in range(12):
        t = at + 15 * k
        s.write([Series("autobot_host_up", {"host": "h"}, [(t, 0.0 if k < hosts_down else 1.0)], "gauge"),
                 Series("autobot_cpu_busy_percent", {"cpu": "all", "host": "h"}, [(t, 100.0)], "gauge")])
    return s


def test_three_minutes_of_a_day_is_low_coverage_and_the_first_line_says_so(tmp_path):
    three_minutes(str(tmp_path / "metrics.db"), START + 3600).close()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 15\n")
    period = f"{START:.0f}..{END:.0f}"
    out = tmp_path / "r.json"
    assert main(["report", "--period", period, "--format", "json", "--out", str(out),
                 "--data-dir", str(tmp_path), "--config", str(cfg)]) == 0
    doc = json.loads(out.read_text())
    assert out.read_text().splitlines()[1].startswith(' "warning": "Low coverage: monitored 3 min of 24 h: 0.2 %')
    h = doc["availability"]["hosts"]["h"]
    assert h["coverage_percent"] == pytest.approx(100 * 180 / DAY)
    assert (h["up_seconds"], h["down_seconds"], h["unknown_seconds"]) == pytest.approx((180, 0, DAY - 180))
    assert h["uptime_percent"] == 100.0 and h["meets_target"] is None  # 100 % of 3 min, not of the day
    cpu = next(b for b in doc["bottlenecks"]["items"] if b["resource"] == "cpu_percent")
    assert cpu["share_percent"] == 100.0  # above the threshold the whole time it was watched
    assert cpu["coverage_percent"] == pytest.approx(100 * 180 / DAY)
    html = tmp_path / "r.html"
    assert main(["report", "--period", period, "--format", "html", "--out", str(html),
                 "--data-dir", str(tmp_path), "--config", str(cfg)]) == 0
    body = html.read_text().split("<body>", 1)[1]
    first = re.sub(r"<[^>]+>", "", body.strip().splitlines()[0])
    assert first.startswith("Low coverage: monitored 3 min of 24 h: 0.2 %")


def test_hub_availability_counts_up_down_and_unknown(tmp_path):
    s = three_minutes(str(tmp_path / "m.db"), END - 600, hosts_down=3)
    got = _availability(s, ("host", "h"), END, 15.0)
    assert got["availability_24h_percent"] == 75.0  # up / monitored, 9 of 12 results
    assert got["coverage_24h_percent"] == pytest.approx(100 * 180 / DAY, abs=1e-3)
    assert (got["up_24h_seconds"], got["down_24h_seconds"], got["unknown_24h_seconds"]) == (135.0, 45.0, DAY - 180.0)
    class OtherBackend:  # no tally(): the same figures from two queries
        query = s.query

    assert _availability(OtherBackend(), ("host", "h"), END, 15.0) == got
    none = _availability(s, ("service", "never"), END, 15.0)
    assert none["availability_24h_percent"] is None and none["coverage_24h_percent"] == 0.0
    assert none["unknown_24h_seconds"] == DAY


def test_report_chart_breaks_the_line_at_a_hole():
    pts = [(START + 10 * k, 50.0) for k in range(100) if not 40 <= k < 60]
    fig = host_figure("h", {"cpu_percent": pts})
    (line,) = fig.axes[0].lines
    y = list(line.get_ydata())
    assert sum(1 for v in y if math.isnan(v)) == 1 and len(y) == 81  # one break, in the hole
    assert math.isnan(y[40])
