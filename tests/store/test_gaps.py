"""Gaps are gaps: a hole in a series (a missed scrape, a target down, the hub stopped) answers
null for its steps in the store, the history export and the chart code; a counter's rate does not
bridge it; timing jitter and steps finer than the interval make no false hole."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from storesupport import write_windows

from autobot_monitor import figures
from autobot_monitor.cli import main
from autobot_monitor.store import Series, TieredStore

T0 = 1_700_000_400.0  # on a 10-minute boundary
STATIC = Path(__file__).resolve().parents[2] / "src/autobot_monitor/web/static"


def fill(s: TieredStore, ks, counter_reset_at: int | None = None, jitter: bool = False) -> None:
    """Cycle ``k`` at ``T0 + 15 k`` (± 3 ms with ``jitter``): gauge ``g`` = k, counter ``c_total``
    +150 per cycle (10/s), restarted from 0 at cycle ``counter_reset_at``."""
    g = Series("g", {"host": "a"}, [], "gauge")
    c = Series("c_total", {"host": "a"}, [], "counter")
    for k in ks:
        t = T0 + 15 * k + ((0.003 if k % 3 else -0.002) if jitter else 0.0)
        g.points.append((t, float(k)))
        c.points.append((t, 150.0 * (k - counter_reset_at if counter_reset_at is not None
                                     and k >= counter_reset_at else k)))
    write_windows(s, [g, c])


def hole_steps(pts):
    return [t for t, v in pts if v is None]


def test_a_hole_answers_null_for_its_steps_and_jitter_makes_none(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    fill(s, [k for k in range(60) if not 20 <= k < 28], jitter=True)  # 2 min stopped
    for flushed in (False, True):
        pts = s.query("g", {}, T0, T0 + 899, 15).series[0].points
        assert hole_steps(pts) == [T0 + 15 * k for k in range(20, 28)], flushed
        assert pts[-1] == (T0 + 59 * 15, 59.0) and len(pts) > 40  # the rest is there
        s.flush()
    # 1-minute tier: minutes 5 and 6 (cycles 20..27) are empty
    res = s.query("g", {}, T0, T0 + 59 * 15, 60)
    assert res.tier == "1m" and hole_steps(res.series[0].points) == [T0 + 300, T0 + 360]
    # a single lost scrape is a hole too; a step finer than the interval is not
    s2 = TieredStore(str(tmp_path / "m2.db"))
    fill(s2, [k for k in range(10) if k != 5])
    assert hole_steps(s2.query("g", {}, T0, T0 + 135, 15).series[0].points) == [T0 + 75]
    fine = s2.query("g", {}, T0, T0 + 60, 5).series[0].points
    assert fine == [(T0 + 15 * k, float(k)) for k in range(5)]


def test_steps_after_the_last_sample_are_null_when_the_store_moved_on(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    fill(s, range(10))
    # another series goes on: the store's newest sample moves
    write_windows(s, [Series("other", {}, [(T0 + 15 * k, 1.0) for k in range(10, 20)], "gauge")])
    pts = s.query("g", {}, T0, T0 + 19 * 15, 15).series[0].points
    assert hole_steps(pts) == [T0 + 15 * k for k in range(10, 20)]


def test_rate_does_not_bridge_a_hole_nor_spike_after_it(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    # 12 minutes without samples; the agent restarted meanwhile (its counter starts at 0 again)
    fill(s, [k for k in range(120) if not 40 <= k < 88], counter_reset_at=88)
    for flushed in (False, True):
        for step in (15, 60):
            pts = s.query("c_total", {}, T0, T0 + 119 * 15, step, fn="rate").series[0].points
            rates = [v for _, v in pts if v is not None]
            assert rates and all(v == pytest.approx(10.0) for v in rates), (flushed, step, rates)
            assert [t for t in hole_steps(pts) if T0 + 600 <= t < T0 + 1320]  # the hole is null
        s.flush()


def test_export_keeps_the_hole(tmp_path):
    s = TieredStore(str(tmp_path / "metrics.db"))
    fill(s, [k for k in range(12) if not 4 <= k < 8])
    s.close()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 15\n")
    args = ["export", "--data-dir", str(tmp_path), "--config", str(cfg), "--metric", "g",
            "--start", str(T0), "--end", str(T0 + 165), "--step", "15"]
    assert main([*args, "--format", "json", "--output", str(tmp_path / "e.json")]) == 0
    pts = json.loads((tmp_path / "e.json").read_text())["series"][0]["points"]
    assert pts == [[T0 + 15 * k, None if 4 <= k < 8 else float(k)] for k in range(12)]
    assert main([*args, "--output", str(tmp_path / "e.csv")]) == 0
    rows = [line.split(",") for line in (tmp_path / "e.csv").read_text().splitlines()[1:]]
    assert [row[3] for row in rows] == ["" if 4 <= k < 8 else f"{float(k)!r}" for k in range(12)]


def test_chart_code_passes_null_through_as_a_gap(tmp_path):
    """The dashboard's Chart (charts.js) under node, no browser: a null step from the history
    API stays null (uPlot draws a gap), a timestamp another series lacks is undefined (joined),
    a null survives the per-key sum, and the JSON export keeps it."""
    node = __import__("shutil").which("node")
    if node is None:
        pytest.skip("node not installed")
    script = tmp_path / "t.mjs"
    script.write_text(f"""
import {{ Chart }} from {json.dumps((STATIC / "charts.js").as_uri())};
const figures = {json.dumps(figures.to_json())};
const history = {{ series: [
  {{ labels: {{ host: "a", device: "sda" }}, points: [[0, 1], [10, null], [20, 3]] }},
  {{ labels: {{ host: "a", device: "sdb" }}, points: [[0, 1], [10, null], [20, null]] }}] }};
globalThis.fetch = async (url) => ({{ ok: true,
  json: async () => (String(url).startsWith("/api/figures") ? figures : history) }});
const c = Object.create(Chart.prototype);
Object.assign(c, {{ def: {{ queries: [{{ figure: "disk_io.read_bytes_per_second" }}] }}, series: new Map(),
  panel: {{ dataset: {{}} }}, status: {{}}, plotBox: {{ clientWidth: 0 }} }});
await c.load({{ start: 0, end: 20, step: 10, live: false }}, "");
c.series.set("b", new Map([[5, 2]]));
const {{ keys, data }} = c.table();
const show = (a) => a.map((v) => (v === undefined ? "undef" : v));
console.log(JSON.stringify({{ keys, data: data.map(show) }}));
""")
    r = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["keys"] == ["a", "b"]
    assert got["data"] == [[0, 5, 10, 20], [2, "undef", None, 3], ["undef", 2, "undef", "undef"]]
    src = (STATIC / "charts.js").read_text()
    assert "spanGaps: false" in src and "r[j + 1] !== undefined" in src  # export keeps nulls
