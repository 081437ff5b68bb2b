"""History: saved runs, previous/baseline lookup, noise-aware regression flags."""

import json
import os

from autobot_monitor.benchmark import history


def _run(kind, started, value, noise, better="lower"):
    return {"type": kind, "started": started, "finished": started + 1,
            "metrics": {"api.x.p95": {"value": value, "noise": noise, "unit": "seconds",
                                      "better": better},
                        "score.api": {"value": 70.0, "noise": None, "unit": "score",
                                      "better": "higher"}}}


def test_regression_only_beyond_noise():
    old = _run("api", 1, 0.100, 0.004)
    assert history.compare(old, _run("api", 2, 0.108, 0.004))[0]["verdict"] == "within noise"
    assert history.compare(old, _run("api", 2, 0.130, 0.004))[0]["verdict"] == "regression"
    assert history.compare(old, _run("api", 2, 0.070, 0.004))[0]["verdict"] == "improvement"
    rows = {r["metric"]: r for r in history.compare(old, _run("api", 2, 0.1, 0.004))}
    assert rows["score.api"]["verdict"] == "noise unknown"


def test_save_previous_baseline_and_prune(tmp_path, monkeypatch):
    d = str(tmp_path / "logs" / "benchmarks")
    monkeypatch.setattr(history, "KEEP", 3)
    paths = [history.save(_run("api", 1_700_000_000 + i, 0.1 + i, 0.01), d) for i in range(5)]
    kept = sorted(os.listdir(d))
    assert len(kept) == 3 and all(k.startswith("api-") for k in kept)
    prev, base = history.previous_and_baseline(d, "api", exclude=paths[-1])
    assert prev[1]["started"] == 1_700_000_003 and base[1]["started"] == 1_700_000_002
    history.set_baseline(_run("api", 42, 0.5, 0.01), d)
    _prev, base = history.previous_and_baseline(d, "api")
    assert base[1]["started"] == 42
    with open(paths[-1]) as f:
        assert json.load(f)["type"] == "api"
    assert history.previous_and_baseline(d, "system") == (None, None)


def test_scores_go_into_a_hub_store(tmp_path):
    from autobot_monitor.config.models import StorageConfig
    from autobot_monitor.store import open_store

    res = {"type": "system", "finished": 1_800_000_000.0,
           "categories": {"system": {"score": 73.5}, "api": {"score": None}},
           "overall": {"score": 73.5}}
    assert history.store_scores(res, StorageConfig(), str(tmp_path)) == 2
    store = open_store(StorageConfig(), str(tmp_path))
    try:
        assert "autobot_performance_score" in store.metric_names()
    finally:
        store.close()
