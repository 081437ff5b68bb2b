"""``max_disk_bytes`` counts every file of the store (database, journals, head log, lock)."""

import logging
import os
import sqlite3

import pytest

from autobot_monitor.errors import StoreError
from autobot_monitor.store import Series, TieredStore, default_tiers

T0 = 1_700_006_400.0
CAP = 300_000


def store_bytes(tmp_path):
    """What ``max_disk_bytes`` counts (README): every file of the store, the database by its
    pages in use (SQLite reuses freed pages before it grows the file), read here through a
    connection of the test's own."""
    others = sum(os.path.getsize(tmp_path / n) for n in os.listdir(tmp_path)
                 if n.startswith("m.db") and n != "m.db")
    db = sqlite3.connect(f"file:{tmp_path / 'm.db'}?mode=ro", uri=True)
    try:
        page, count, free = (db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_size", "page_count", "freelist_count"))
    finally:
        db.close()
    return others + (count - free) * page


def fam(store, name):
    return {tuple(s.labels): s.value for f in store.families() if f.name == name for s in f.samples}


def test_cap_counts_the_write_ahead_log_refuses_once_logged_and_recovers(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "autobot_monitor.store.engine")
    # a head window of a day: everything stays in the head and its write-ahead log
    s = TieredStore(str(tmp_path / "m.db"), tiers=default_tiers(raw_days=1, m1_days=1, h1_days=1),
                    max_disk_bytes=CAP, window_s=86400)
    labels = [(("i", str(i)),) for i in range(200)]
    refused = []
    for k in range(400):
        try:
            s.write([Series("g", dict(lab), [(T0 + 10 * k, float(k))], "gauge") for lab in labels])
        except StoreError as e:
            assert "max_disk_bytes=300000" in str(e)
            refused.append(k)
            if len(refused) == 5:
                break
        assert store_bytes(tmp_path) <= CAP
    assert len(refused) == 5
    assert store_bytes(tmp_path) <= CAP
    assert fam(s, "autobot_store_writes_refused")[()] == 1.0
    assert fam(s, "autobot_store_samples_refused_total")[()] == 5 * 200
    assert fam(s, "autobot_store_disk_bytes")[()] <= CAP
    assert caplog.text.count("refuses writes") == 1  # once per state change, not per batch
    last = refused[0] - 1
    assert s.raw_samples("g", {"i": "7"}, T0, T0 + 10 * last)[0].points[-1] == (T0 + 10 * last, float(last))
    # retention frees pages in the database: writes are accepted again, logged once
    s.enforce_retention(T0 + 10 * 86400)
    s.write([Series("g", dict(labels[0]), [(T0 + 10 * 86400, 1.0)], "gauge")])
    assert fam(s, "autobot_store_writes_refused")[()] == 0.0
    assert caplog.text.count("accepts writes again") == 1
    s.close()


def test_no_cap_means_no_refusal(tmp_path):
    s = TieredStore(str(tmp_path / "m.db"), window_s=86400)
    for k in range(50):
        s.write([Series("g", {"i": str(i)}, [(T0 + k, 1.0)], "gauge") for i in range(200)])
    assert fam(s, "autobot_store_writes_refused")[()] == 0.0
    with pytest.raises(StoreError):
        TieredStore(str(tmp_path / "m.db"))  # the lock file is part of the store; still held
    s.close()
