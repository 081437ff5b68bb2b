"""Builds the :class:`~.model.AnalysisInput` from a hub: current host state, stored history,
live Redis slow logs, reclaimable files under the cleanup roots. Store and file work runs in a
worker thread; Redis reads are async with the service's own timeout."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from ..errors import OptimizerError
from .actions import redis_client, walk_cleanup
from .model import AnalysisInput, HostInput

log = logging.getLogger(__name__)

HISTORY_METRICS: tuple[tuple[str, dict[str, str]], ...] = (
    ("autobot_cpu_busy_percent", {"cpu": "all"}),
    ("autobot_memory_used_percent", {}),
    ("autobot_swap_used_percent", {}),
    ("autobot_process_resident_memory_bytes", {}),
    ("node_filesystem_avail_bytes", {}),
    ("node_load5", {}),
    ("autobot_service_up", {}),
    ("autobot_service_response_time_seconds", {}),
    ("autobot_redis_evicted_keys_total", {}),
    ("autobot_gpu_throttle_reasons", {}),
    ("autobot_gpu_temperature_celsius", {}),
    ("node_hwmon_temp_celsius", {}),
    ("node_thermal_zone_temp", {}),
)
"""Metric (with equality matchers) read over the history window; ``autobot_mesh_*`` names the
store holds are added."""
SLOWLOG_ENTRIES = 128


def read_history(store, now: float, window: float, step: float) -> dict[str, list]:
    """metric -> series over ``[now - window, now]``; a failing metric is logged and left out."""
    names = list(HISTORY_METRICS)
    try:
        names += [(n, {}) for n in store.metric_names() if n.startswith("autobot_mesh_")]
    except Exception as e:  # noqa: BLE001 - an unavailable store means no history evidence
        log.error("optimizer: metric names unavailable: %s", e)
    out: dict[str, list] = {}
    for name, match in names:
        try:
            out[name] = store.query_range(name, match, now - window, now, step)
        except Exception as e:  # noqa: BLE001
            log.error("optimizer: history of %s unavailable: %s", name, e)
    return out


def _mountpoint(path: str, mounts: list[str]) -> str | None:
    real = os.path.realpath(path)
    best = None
    for mp in mounts:
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and (best is None or len(mp) > len(best)):
            best = mp
    return best


_scan_errors: dict[str, str] = {}
"""root -> the last error logged for it (bounded by the configured roots), so a root that
stays unreadable is logged once, not on every optimizer run."""


def scan_cleanup(roots, now: float, mounts: list[str]) -> dict[str, dict[str, Any]]:
    """root -> ``{"files", "bytes", "older_than_days", "mountpoint"}`` of what a cleanup would
    remove now; roots that cannot be read are left out (logged once per distinct error)."""
    out = {}
    for r in roots:
        try:
            found = walk_cleanup(r, now)
        except Exception as e:  # noqa: BLE001
            # OptimizerError messages from open_root already start "cleanup root <path>: "
            msg = str(e) if isinstance(e, OptimizerError) else f"cleanup root {r.path}: {e}"
            if _scan_errors.get(r.path) != msg:
                _scan_errors[r.path] = msg
                log.warning("optimizer: %s", msg)
            continue
        _scan_errors.pop(r.path, None)
        out[r.path] = {"files": found["files"], "bytes": found["bytes"],
                       "older_than_days": r.older_than_days, "mountpoint": _mountpoint(r.path, mounts)}
    return out


async def redis_live(svc) -> dict[str, Any]:
    """``{"slowlog": [{"id", "time", "duration_us", "command"}], "maxmemory_policy", "error"}``
    of one Redis service. Only the command *name* of a slow-log entry is kept (arguments may hold
    data or secrets)."""
    from ..checks.base import describe
    from ..secret_registry import redact

    client = redis_client(svc)
    out: dict[str, Any] = {"slowlog": [], "maxmemory_policy": None, "error": None}
    try:
        entries = await asyncio.wait_for(client.slowlog_get(SLOWLOG_ENTRIES), svc.timeout)
        for e in entries:
            cmd = e.get("command") or ""
            cmd = cmd.decode(errors="replace") if isinstance(cmd, bytes) else str(cmd)
            out["slowlog"].append({"id": e.get("id"), "time": e.get("start_time"),
                                   "duration_us": e.get("duration"),
                                   "command": (cmd.split() or ["?"])[0].upper()})
        try:
            pol = await asyncio.wait_for(client.config_get("maxmemory-policy"), svc.timeout)
            out["maxmemory_policy"] = pol.get("maxmemory-policy")
        except Exception:  # noqa: BLE001 - CONFIG may be renamed/disabled: policy not measured
            pass
    except Exception as e:  # noqa: BLE001
        out["error"] = redact(describe(e))
    finally:
        try:
            await client.aclose()
        except Exception:  # noqa: BLE001
            pass
    return out


async def gather(live, store, now: float) -> AnalysisInput:
    """The analysis input from ``live`` (the hub's current ``config``, ``hosts`` and
    ``services``, see :class:`~.service.LiveState`) and the history in ``store`` (None: none)."""
    cfg = live.config
    opt = cfg.optimizer
    window = opt.history_window
    step = max(cfg.monitoring_interval, window / 360)
    hosts = []
    mounts: list[str] = []
    for h in live.hosts.values():
        current: dict[str, list] = {}
        for f in h.families:
            current.setdefault(f.name, []).extend((dict(s.labels), s.value) for s in f.samples)
        hosts.append(HostInput(h.name, h.up, h.summary, current, h.local))
        if h.local:
            mounts = [f["mountpoint"] for f in h.summary.get("filesystems") or []]
    history = await asyncio.to_thread(read_history, store, now, window, step) if store else {}
    cleanup = await asyncio.to_thread(scan_cleanup, opt.cleanup, now, mounts) if opt.cleanup else {}
    redis_svcs = [s for s in cfg.services if s.type == "redis" and (live.services.get(s.name) or {}).get("up")]
    lives = await asyncio.gather(*(redis_live(s) for s in redis_svcs))
    return AnalysisInput(now, window, hosts, dict(live.services), history, cfg.alert_thresholds, opt,
                         {s.name: v for s, v in zip(redis_svcs, lives, strict=True)}, cleanup)
