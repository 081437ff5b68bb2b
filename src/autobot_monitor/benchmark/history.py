"""Benchmark history: results as JSON files under ``<data-dir>/<logging.dir>/benchmarks/``,
comparison with the previous and the baseline run, and scores written to the hub's store.

Files: ``<type>-<UTC YYYYmmddTHHMMSSZ>-<6 hex>.json``, at most :data:`KEEP` per type (oldest
removed). The baseline of a type is ``baseline-<type>.json`` when ``--set-baseline`` wrote one,
else the oldest kept run of that type.

Regression rule: a metric is flagged when it moved in its worse direction by more than
``K_NOISE * sqrt(noise_a^2 + noise_b^2)`` (``noise`` = standard deviation of the metric over the
run's equal time slices or repeated passes, measured in each run) *and* by more than
:data:`MIN_REL` of the older value. Metrics without a noise estimate in both runs are compared
but never flagged ("noise unknown").
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time

from .. import atomicfile
from ..model import MetricSpec

KEEP = 200
K_NOISE = 2.0
MIN_REL = 0.05
SCORE_SPEC = MetricSpec("autobot_performance_score", "gauge",
                        "Benchmark score 0-100 per category and overall (category=\"overall\"), "
                        "written by `autobot-monitor benchmark` at the end of a run.", "",
                        ("category", "type"))


def bench_dir(data_dir: str, logs_dir: str = "logs") -> str:
    return os.path.join(data_dir, logs_dir, "benchmarks")


def _runs(directory: str, kind: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(directory, n) for n in names
                  if n.startswith(f"{kind}-") and n.endswith(".json"))


def save(result: dict, directory: str) -> str:
    """Write ``result`` as a new file (atomically), prune to :data:`KEEP` per type; returns the path."""
    os.makedirs(directory, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(result.get("started", time.time())))
    path = os.path.join(directory, f"{result['type']}-{stamp}-{secrets.token_hex(3)}.json")
    atomicfile.write_json(path, result, indent=1, allow_nan=False)
    for old in _runs(directory, result["type"])[:-KEEP]:
        os.unlink(old)
    return path


def set_baseline(result: dict, directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"baseline-{result['type']}.json")
    atomicfile.write_json(path, result, indent=1, allow_nan=False)
    return path


def _load(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def previous_and_baseline(directory: str, kind: str, exclude: str | None = None
                          ) -> tuple[tuple[str, dict] | None, tuple[str, dict] | None]:
    """``((path, result) of the latest run, (path, result) of the baseline)``, skipping
    ``exclude`` (the run just saved); each None when there is none."""
    runs = [p for p in _runs(directory, kind) if p != exclude]
    prev = (runs[-1], _load(runs[-1])) if runs else None
    bpath = os.path.join(directory, f"baseline-{kind}.json")
    if os.path.exists(bpath):
        base = (bpath, _load(bpath))
    else:
        base = (runs[0], _load(runs[0])) if runs else None
    prev = prev if prev and prev[1] else None
    base = base if base and base[1] else None
    return prev, base


def compare(old: dict, new: dict) -> list[dict]:
    """One row per metric present in both: ``{metric, old, new, change_ratio, noise, verdict}``
    where verdict is "regression", "improvement", "within noise" or "noise unknown"."""
    rows = []
    om, nm = old.get("metrics", {}), new.get("metrics", {})
    for key in sorted(set(om) & set(nm)):
        a, b = om[key], nm[key]
        va, vb = a["value"], b["value"]
        change = (vb - va) / va if va else None
        na, nb = a.get("noise"), b.get("noise")
        noise = math.sqrt(na ** 2 + nb ** 2) if na is not None and nb is not None else None
        worse = (vb > va) if b["better"] == "lower" else (vb < va)
        delta = abs(vb - va)
        if noise is None:
            verdict = "noise unknown"
        elif delta > K_NOISE * noise and (va == 0 or delta > MIN_REL * abs(va)):
            verdict = "regression" if worse else "improvement"
        else:
            verdict = "within noise"
        rows.append({"metric": key, "old": va, "new": vb, "change_ratio": change,
                     "noise": noise, "unit": b.get("unit"), "verdict": verdict})
    return rows


def store_scores(result: dict, storage, data_dir: str) -> int:
    """Write ``autobot_performance_score{category, type}`` for each scored category and the
    overall score into the store the config's ``storage`` section names (opened with
    :func:`~autobot_monitor.store.open_store`, so only while no hub holds it); returns samples
    written. Raises StoreError when the store cannot be opened or refuses the write."""
    from ..store import open_store
    from ..store.base import Series

    ts = result["finished"]
    scores = {c: r["score"] for c, r in result["categories"].items()}
    scores["overall"] = result["overall"]["score"]
    samples = [Series(SCORE_SPEC.name, {"category": c, "type": result["type"]}, [(ts, float(v))], "gauge")
               for c, v in scores.items() if v is not None]
    store = open_store(storage, data_dir)
    try:
        return store.write(samples)
    finally:
        store.close()
