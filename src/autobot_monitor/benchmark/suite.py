"""Runs the chosen benchmark categories, scores them and builds the result document.

Result (JSON-ready dict)::

    {"type", "engine", "host", "started", "finished" (Unix s), "duration_requested_seconds",
     "categories": {name: {"score", "grade", "figures": [{"figure", "measured", "baseline",
                    "unit", "score"}], "results": [...], "note"}},
     "overall": {"score", "grade", "categories_run"},
     "scoring": {"formula", "baselines", "weights"},
     "metrics": {key: {"value", "noise", "unit", "better"}}}   # flat, for history comparisons

A category that could not run has ``score: None`` and a ``note`` saying why.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field

from ..config.models import HttpService, MonitorConfig, RedisService
from ..errors import BenchmarkError
from . import api, database, native, network, scoring, system
from .base import ProgressFn, no_progress

KINDS = ("comprehensive", "api", "database", "network", "system")
SHARE = {"api": 0.35, "database": 0.25, "network": 0.10, "system": 0.30}  # of a comprehensive run


@dataclass
class Options:
    """What the command line asked for. ``duration`` is seconds for the whole run."""

    duration: float = 60.0
    concurrency: int = 10
    rate: float | None = None
    url: str | None = None
    engine: str = "builtin"
    dbs: list[int] | None = None
    scratch_dir: str = "bench-scratch"
    disk_bytes: int = 256 * 1024 * 1024
    extra: dict = field(default_factory=dict)


def _fig(key: str, figure: str, measured: float | None) -> dict:
    base, unit, _better = scoring.BASELINES[key]
    return {"figure": figure, "measured": measured, "baseline": base, "unit": unit,
            "score": scoring.baseline_score(key, measured)}


def _metric(out: dict, key: str, value, noise, unit: str, better: str) -> None:
    if value is not None:
        out[key] = {"value": value, "noise": noise, "unit": unit, "better": better}


def run_api(cfg: MonitorConfig, o: Options, seconds: float, progress: ProgressFn, m: dict) -> dict:
    if o.url:
        eps = [api.Endpoint("url", o.url)]
    else:
        eps = [api.Endpoint(s.name, s.url, s.method, s.expected_status, s.timeout, s.verify_tls)
               for s in cfg.services if isinstance(s, HttpService)]
    if not eps:
        return {"score": None, "note": "not measured: no http service in the config and no --url"}
    results, figs, scores = [], [], []
    for ep in eps:
        each = seconds / len(eps)
        if o.engine == "native":
            r = native.api(ep, o.concurrency, each)
        else:
            r = asyncio.run(api.run_endpoint(ep, o.concurrency, each, o.rate, progress))
        results.append(r)
        mode = r.get("open") or r["closed"]
        lat = mode["latency_seconds"]
        which = "p95" if lat.get("p95") is not None else "p99"
        f = _fig("api_latency_p95_seconds", f"{ep.name} {mode['mode']}-loop latency {which}",
                 lat.get(which))
        figs.append(f)
        err = mode.get("error_rate")
        if f["score"] is not None:
            scores.append(f["score"] * (1 - (err or 0.0)))
        elif err == 1.0:
            scores.append(0.0)
        _metric(m, f"api.{ep.name}.{mode['mode']}_{which}_seconds", lat.get(which),
                mode.get(f"latency_{which}_noise_seconds"), "seconds", "lower")
        _metric(m, f"api.{ep.name}.closed_p50_seconds", r["closed"]["latency_seconds"]["p50"],
                r["closed"].get("latency_p50_noise_seconds"), "seconds", "lower")
        _metric(m, f"api.{ep.name}.closed_throughput_per_second",
                r["closed"]["throughput_per_second"], None, "1/s", "higher")
    return {"score": scoring.category_score(scores, 1.0), "figures": figs, "results": results}


def run_database(cfg: MonitorConfig, o: Options, seconds: float, progress: ProgressFn,
                 m: dict) -> dict:
    svcs = [s for s in cfg.services if isinstance(s, RedisService)]
    if not svcs:
        return {"score": None, "note": "not measured: no redis service in the config"}
    for s in svcs:  # refuse before anything is written anywhere
        database.check_dbs(s, o.dbs)
    results, figs, scores = [], [], []
    tried = ok = 0
    for s in svcs:
        if o.engine == "native":
            r = native.redis(s, int(o.extra.get("redis_count", 20000)), o.dbs)
        else:
            r = database.run_service(s, seconds / len(svcs), o.dbs, progress)
        results.append(r)
        for db, ops in r["dbs"].items():
            tried += 1
            if "error" in ops:
                continue
            ok += 1
            for op, fig in ops.items():
                p95 = fig["latency_seconds"]["p95"]
                _metric(m, f"redis.{s.name}.db{db}.{op}.p95_seconds", p95,
                        fig.get("latency_p95_noise_seconds"), "seconds", "lower")
                if op == "pipelined_set":
                    continue
                f = _fig("redis_op_latency_p95_seconds", f"{s.name} db{db} {op.upper()} p95", p95)
                figs.append(f)
                scores.append(f["score"])
    return {"score": scoring.category_score(scores, ok / tried if tried else None),
            "figures": figs, "results": results}


def run_network(cfg: MonitorConfig, o: Options, seconds: float, progress: ProgressFn,
                m: dict) -> dict:
    if not cfg.hosts:
        return {"score": None, "note": "not measured: no hosts (agents) in the config"}
    results, figs, scores = [], [], []
    for h in cfg.hosts:
        r = network.run_host(h, seconds / len(cfg.hosts), progress=progress)
        results.append(r)
        p50 = r["rtt_seconds"]["p50"]
        f = _fig("network_rtt_p50_seconds", f"{h.name} TCP connect RTT p50", p50)
        figs.append(f)
        scores.append(0.0 if r["loss_ratio"] == 1.0 else f["score"] * (1 - r["loss_ratio"]))
        _metric(m, f"network.{h.name}.rtt_p50_seconds", p50, r["rtt_p50_noise_seconds"],
                "seconds", "lower")
        if r.get("throughput_bytes_per_second") is not None:  # agent stream, unscored
            _metric(m, f"network.{h.name}.throughput_bytes_per_second",
                    r["throughput_bytes_per_second"], None, "bytes/s", "higher")
    return {"score": scoring.category_score(scores, 1.0), "figures": figs, "results": results,
            "note": network.THROUGHPUT_NOTE}


def run_system(cfg: MonitorConfig, o: Options, seconds: float, progress: ProgressFn,
               m: dict) -> dict:
    r = system.run(seconds, o.scratch_dir, o.disk_bytes, progress)
    if o.engine == "native":
        r["disk_builtin"] = r["disk"]
        r["disk"] = native.disk(o.scratch_dir, o.disk_bytes, seconds * 0.55)
    d, mem = r["disk"], r["memory"]
    figs = [_fig("disk_sequential_bytes_per_second", "disk sequential write", d["write_bytes_per_second"]),
            _fig("disk_sequential_bytes_per_second", "disk sequential read", d["read_bytes_per_second"]),
            _fig("memory_bandwidth_bytes_per_second", "memory bandwidth (copy)", mem["bytes_per_second"])]
    _metric(m, "system.disk_write_bytes_per_second", d["write_bytes_per_second"],
            d.get("write_noise_bytes_per_second"), "bytes/s", "higher")
    _metric(m, "system.disk_read_bytes_per_second", d["read_bytes_per_second"],
            d.get("read_noise_bytes_per_second"), "bytes/s", "higher")
    _metric(m, "system.disk_random_read_4k_iops", d["random_read_4k_iops"], None, "1/s", "higher")
    _metric(m, "system.memory_bandwidth_bytes_per_second", mem["bytes_per_second"],
            mem["noise_bytes_per_second"], "bytes/s", "higher")
    _metric(m, "system.cpu_single_core_units_per_second", r["cpu"]["single_core_units_per_second"],
            None, "1/s", "higher")
    return {"score": scoring.category_score([f["score"] for f in figs]), "figures": figs,
            "results": [r], "note": "CPU, IOPS and GPU are reported, not scored (no spec baseline)"}


RUNNERS = {"api": run_api, "database": run_database, "network": run_network, "system": run_system}


def run(kind: str, cfg: MonitorConfig, o: Options, progress: ProgressFn = no_progress) -> dict:
    """Run benchmark ``kind`` (one of :data:`KINDS`). Raises BenchmarkError for a bad request
    (unknown kind, db not in config, missing native tool); KeyboardInterrupt passes through after
    each category's own cleanup."""
    if kind not in KINDS:
        raise BenchmarkError(f"unknown benchmark {kind!r} (one of {', '.join(KINDS)})")
    if o.duration <= 0 or o.concurrency < 1:
        raise BenchmarkError("--duration must be > 0 and --concurrency >= 1")
    cats = list(RUNNERS) if kind == "comprehensive" else [kind]
    metrics: dict = {}
    out: dict = {"type": kind, "engine": o.engine, "host": socket.gethostname(),
                 "started": time.time(), "duration_requested_seconds": o.duration,
                 "categories": {}}
    for c in cats:
        seconds = o.duration * SHARE[c] if kind == "comprehensive" else o.duration
        res = RUNNERS[c](cfg, o, seconds, progress, metrics)
        res["grade"] = scoring.grade(res["score"])
        out["categories"][c] = res
        _metric(metrics, f"score.{c}", res["score"], None, "score", "higher")
    overall = scoring.overall_score({c: r["score"] for c, r in out["categories"].items()})
    out["overall"] = {"score": overall, "grade": scoring.grade(overall),
                      "categories_run": [c for c, r in out["categories"].items()
                                         if r["score"] is not None]}
    _metric(metrics, "score.overall", overall, None, "score", "higher")
    out["finished"] = time.time()
    out["scoring"] = {"formula": scoring.FORMULA, "weights": scoring.WEIGHTS,
                      "baselines": {k: {"value": b, "unit": u, "better": d}
                                    for k, (b, u, d) in scoring.BASELINES.items()},
                      "grades": {g: f for f, g in scoring.GRADES} | {"D": 0.0}}
    out["metrics"] = metrics
    return out
