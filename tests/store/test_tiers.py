"""Tiers, merging, caps, corrupt chunks and a full disk in the embedded store."""

import sqlite3

import numpy as np
import pytest
from storesupport import write_windows

from autobot_monitor.errors import StoreError
from autobot_monitor.store import Series, TieredStore, default_tiers

T0 = 1_700_006_400.0  # on an hour boundary
DAY = 86400


def fam(store, name):
    return {tuple(s.labels): s.value for f in store.families() if f.name == name for s in f.samples}


def fill(store, seconds, step=10, start=T0):
    """A gauge (i % 100) and a counter (+step per sample, reset at the half) every ``step`` s,
    written one batch per head window."""
    g = Series("g", {"host": "a"}, [], "gauge")
    c = Series("c_total", {"host": "a"}, [], "counter")
    for k, i in enumerate(range(0, seconds, step)):
        g.points.append((start + i, float(k % 100)))
        c.points.append((start + i, (k if i < seconds // 2 else k - seconds // step // 2 + 1) * float(step)))
    write_windows(store, [g, c])


def test_tier_is_chosen_by_step_and_rollups_agree_with_raw(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    fill(s, DAY)
    end = T0 + DAY - 1
    fine = s.query("g", {}, T0, end, 60)
    assert fine.tier == "1m"
    raw = s.query("g", {}, T0, end, 59)
    assert raw.tier == "raw"
    hourly = s.query("g", {}, T0, end, 3600)
    assert hourly.tier == "1h"
    want = [np.mean([(k % 100) for k in range(h * 360, h * 360 + 360)]) for h in range(24)]
    assert [v for _, v in hourly.series[0].points] == pytest.approx(want)
    assert [v for _, v in s.query("g", {}, T0, end, 3600, fn="max").series[0].points] == [99.0] * 24
    assert len(fine.series[0].points) == 1440
    rate = s.query("c_total", {}, T0, end, 3600, fn="rate")
    assert [v for _, v in rate.series[0].points] == pytest.approx([1.0] * 24)  # reset handled
    assert s.mean("g", {}, T0, end) == pytest.approx(np.mean([k % 100 for k in range(8640)]))


def test_merging_keeps_answers_and_cuts_chunks(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"))
    fill(s, 2 * DAY)
    end = T0 + 2 * DAY - 1
    before = {(fn, st): s.query("c_total", {}, T0, end, st, fn=fn).series[0].points
              for fn in ("rate", "last") for st in (30, 60, 3600)}
    db = sqlite3.connect(str(tmp_path / "m.db"))
    n0 = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    s.enforce_retention(T0 + 2 * DAY)
    n1 = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert n1 == 2 * (24 + 2 + 2)  # per series: 2 h raw chunks, one rollup chunk a day per tier
    assert n0 > 10 * n1
    for (fn, st), pts in before.items():
        after = s.query("c_total", {}, T0, end, st, fn=fn).series[0].points
        assert [t for t, _ in after] == [t for t, _ in pts]
        assert [v for _, v in after] == pytest.approx([v for _, v in pts])


def test_size_cap_drops_the_oldest_whole_chunks(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"), default_tiers(caps=(1_500, None, None)))
    fill(s, DAY, start=T0)
    s.flush()
    s.enforce_retention(T0 + DAY)
    assert fam(s, "autobot_store_chunk_bytes")[(("tier", "raw"),)] <= 1_500
    assert fam(s, "autobot_store_chunks_dropped_total")[(("reason", "size"), ("tier", "raw"))] > 0
    pts = s.raw_samples("g", {}, T0, T0 + DAY)[0].points
    assert pts[-1][0] == T0 + DAY - 10 and pts[0][0] > T0 + 3600  # newest kept, oldest gone
    assert s.query("g", {}, T0, T0 + DAY, 3600).series[0].points[0][0] == T0  # rollups keep it


def test_a_corrupt_chunk_is_skipped_reported_and_the_rest_readable(tmp_path, caplog):
    p = str(tmp_path / "m.db")
    s = TieredStore(p)
    fill(s, 3600)
    s.flush()
    db = sqlite3.connect(p)
    cid, data = db.execute("SELECT c.id, data FROM chunks c JOIN series s ON s.id=c.series_id WHERE tier=0 "
                           "AND s.name='g' ORDER BY start_ms LIMIT 1 OFFSET 2"
                           ).fetchone()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    db.execute("UPDATE chunks SET data=? WHERE id=?", (bytes(bad), cid))
    db.commit()
    pts = s.raw_samples("g", {}, T0, T0 + 3600)[0].points
    assert len(pts) == 360 - 60  # one 10-minute chunk of 60 samples lost
    assert fam(s, "autobot_store_chunks_corrupt_total")[(("tier", "raw"),)] >= 1
    assert f"chunk {cid} (tier raw) is corrupt" in caplog.text


def test_a_full_disk_refuses_writes_clearly_and_recovers_nothing_lost(tmp_path, caplog):
    s = TieredStore(str(tmp_path / "m.db"), max_disk_bytes=131072, window_s=60)
    labels = [(("i", str(i)),) for i in range(300)]
    refused_at = None
    for k in range(400):
        batch = [Series("g", dict(lab), [(T0 + 10 * k, float(k))], "gauge") for lab in labels]
        try:
            s.write(batch)
        except StoreError as e:
            assert "refuses writes" in str(e) and "full" in str(e)
            refused_at = k
            break
    assert refused_at is not None
    assert fam(s, "autobot_store_writes_refused")[()] == 1.0
    assert fam(s, "autobot_store_samples_refused_total")[()] >= 300
    head = fam(s, "autobot_store_head_samples")[()]
    with pytest.raises(StoreError):  # still refusing the same batch, head not growing
        s.write([Series("g", dict(lab), [(T0 + 10 * refused_at + 1, 1.0)], "gauge") for lab in labels])
    assert fam(s, "autobot_store_head_samples")[()] == head
    assert "refuses writes" in caplog.text
    # what was acknowledged is still readable
    assert s.raw_samples("g", {"i": "0"}, T0, T0 + 10 * refused_at)[0].points[-1][0] == T0 + 10 * (refused_at - 1)
