"""``autobot-monitor export`` straight from a stopped hub's store."""

import json
import math
import subprocess
import sys

from autobot_monitor.store import Series, TieredStore

T0 = 1_700_000_400.0


def test_export_raw_samples_as_json_and_csv_from_the_data_dir(tmp_path):
    s = TieredStore(str(tmp_path / "metrics.db"))
    for i, v in enumerate([1.5, math.nan, math.inf]):
        s.write([Series("g", {"host": "a"}, [(T0 + i, v)], "gauge")])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("monitoring_interval: 5\n")
    args = [sys.executable, "-m", "autobot_monitor.cli", "export", "--data-dir", str(tmp_path),
            "--config", str(cfg), "--metric", "g", "--match", "host=~a|b", "--start", str(T0), "--end", str(T0 + 9)]
    locked = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert locked.returncode == 1 and "in use by another process" in locked.stderr
    s.close()
    r = subprocess.run([*args, "--format", "json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["series"][0]["points"] == [[T0, 1.5], [T0 + 1, None], [T0 + 2, None]]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.stdout.splitlines()[1:] == [f"g,host=a,{T0:.3f},1.5", f"g,host=a,{T0 + 1:.3f},NaN",
                                         f"g,host=a,{T0 + 2:.3f},Inf"]
