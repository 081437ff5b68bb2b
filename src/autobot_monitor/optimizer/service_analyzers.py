"""Service analyzers: services down or slow, Redis (fragmentation, evictions, slow log) and the
inter-host mesh (loss, latency). Pure functions over :class:`~.model.AnalysisInput`, like
:mod:`.host_analyzers`."""

from __future__ import annotations

from collections import Counter

from ..alerts.functions import counter_rate
from .host_analyzers import clean, enough, evidence, mean, sustained
from .model import ActionRef, AnalysisInput, Recommendation

SRC = ("source", "src", "from", "source_host")
DST = ("target", "dst", "to", "peer", "destination", "target_host")


def analyze_services(inp: AnalysisInput) -> list[Recommendation]:
    """A service whose last check failed (critical; restart through its configured command,
    auto-applicable) and one whose response time averaged above
    ``alert_thresholds.api_response_time`` over the window (restart proposed, not automatic)."""
    out = []
    for name, svc in sorted(inp.services.items()):
        restart = inp.opt.service(name)
        action = ActionRef("restart_service", name, svc.get("host")) if restart else None
        ups = [clean(s.points) for s in inp.series("autobot_service_up", service=name)]
        ups_pts = ups[0] if ups else []
        if svc.get("up") is False:
            down_since = svc.get("checked_at")
            for t, v in reversed(ups_pts):
                if v >= 1:
                    break
                down_since = t
            avail = mean(ups_pts) if ups_pts else None
            ev = evidence(inp, "autobot_service_up", {"service": name}, ups_pts or None, up=0,
                          down_since=down_since, availability_ratio_window=avail,
                          checked_at=svc.get("checked_at"))
            ev["error"] = svc.get("error")
            out.append(Recommendation(
                "service", "service_down", "critical", svc.get("host"), name,
                f"service {name} ({svc.get('type')}) is down: {svc.get('error') or 'check failed'}", ev,
                f"{name} answers its health check again after a restart" if restart
                else "configure optimizer.services for a restart command, or restart it by hand",
                action, action is not None,
                "not reversible: a restart cannot be undone" if restart else "nothing to undo (advice only)",
                "autobot_service_up", {"service": name}, "higher"))
            continue
        lim = inp.thresholds.api_response_time
        for s in inp.series("autobot_service_response_time_seconds", service=name):
            pts = clean(s.points)
            if not enough(pts, inp.window):
                continue
            avg = mean(pts)
            share = sum(1 for _, v in pts if v >= lim) / len(pts)
            if avg < lim or share < 0.5:
                continue
            out.append(Recommendation(
                "service", "service_slow", "high" if avg >= 2 * lim else "medium", svc.get("host"), name,
                f"service {name} answered in {avg:.2f} s on average (threshold {lim:g} s)",
                evidence(inp, "autobot_service_response_time_seconds", {"service": name}, pts,
                         avg_seconds=avg, max_seconds=max(v for _, v in pts), share_above=share,
                         threshold_seconds=lim),
                "response time back under the threshold if the slowness is the process's own state",
                action, False,
                "not reversible: a restart cannot be undone" if restart else "nothing to undo (advice only)",
                "autobot_service_response_time_seconds", {"service": name}))
    return out


def analyze_redis(inp: AnalysisInput) -> list[Recommendation]:
    """Per configured Redis service that answered: memory fragmentation above
    ``redis_fragmentation_ratio`` with at least ``redis_min_memory_bytes`` used (MEMORY PURGE
    proposed when ``redis_memory_purge``), keys evicted over the window (the eviction policy is
    reported, never changed), and slow-log entries newer than the window start."""
    out = []
    t = inp.opt.thresholds
    for name, svc in sorted(inp.services.items()):
        if svc.get("type") != "redis" or not svc.get("up"):
            continue
        d = svc.get("details") or {}
        host = svc.get("host")
        live = inp.redis.get(name) or {}
        ratio, used = d.get("mem_fragmentation_ratio"), d.get("used_memory")
        if ratio is not None and used is not None and ratio >= t.redis_fragmentation_ratio \
                and used >= t.redis_min_memory_bytes:
            action = ActionRef("redis_memory_purge", name, host) if inp.opt.redis_memory_purge else None
            out.append(Recommendation(
                "redis", "redis_fragmentation", "medium", host, name,
                f"Redis {name}: memory fragmentation ratio {ratio:.2f} with {used / 2**20:.0f} MiB used",
                evidence(inp, "autobot_redis_memory_fragmentation_ratio", {"service": name}, None,
                         fragmentation_ratio=ratio, used_memory_bytes=used,
                         threshold_ratio=t.redis_fragmentation_ratio),
                "MEMORY PURGE asks the allocator (jemalloc) to return dirty pages: lower RSS and ratio",
                action, action is not None, "nothing to undo: MEMORY PURGE deletes no data",
                "autobot_redis_memory_fragmentation_ratio", {"service": name}))
        for s in inp.series("autobot_redis_evicted_keys_total", service=name):
            pts = clean(s.points)
            rate = counter_rate(pts) if len(pts) >= 2 else None
            if not rate or rate <= 0:
                continue
            ev = evidence(inp, "autobot_redis_evicted_keys_total", {"service": name}, pts,
                          evicted_per_second=rate, used_memory_bytes=used, maxmemory_bytes=d.get("maxmemory"))
            ev["maxmemory_policy"] = live.get("maxmemory_policy")
            out.append(Recommendation(
                "redis", "redis_evictions", "medium", host, name,
                f"Redis {name} evicts {rate:.3g} keys/s (policy {live.get('maxmemory_policy') or 'n/m'})",
                ev, "no evictions once maxmemory fits the data set or the policy matches the use "
                "(cache: allkeys-lru; store: noeviction)", metric="autobot_redis_evicted_keys_total",
                matchers={"service": name}))
        recent = [e for e in live.get("slowlog") or () if e.get("time", 0) >= inp.now - inp.window]
        if len(recent) >= t.redis_slowlog_entries:
            worst = max(e["duration_us"] for e in recent)
            cmds = Counter(e["command"] for e in recent).most_common(5)
            ev = evidence(inp, "redis_slowlog", {"service": name}, None, entries=len(recent),
                          max_duration_seconds=worst / 1e6)
            ev["window"] = {"start": inp.now - inp.window, "end": inp.now}
            ev["commands"] = [{"command": c, "count": n} for c, n in cmds]
            out.append(Recommendation(
                "redis", "redis_slowlog", "medium" if len(recent) >= 10 or worst >= 100_000 else "low",
                host, name, f"Redis {name}: {len(recent)} slow-log entries, slowest {worst / 1000:.1f} ms "
                f"({', '.join(c for c, _ in cmds)})", ev,
                "fewer blocked clients once the slow commands (KEYS, large ranges) are replaced",
                metric="autobot_redis_ping_seconds", matchers={"service": name}))
    return out


def _mesh_kind(name: str) -> str | None:
    if any(k in name for k in ("latency", "rtt", "round_trip")):
        return "latency"
    if "loss" in name:
        return "loss"
    return None


def analyze_network(inp: AnalysisInput) -> list[Recommendation]:
    """``autobot_mesh_*`` series (once the mesh collects them): packet loss above
    ``mesh_loss_ratio`` or latency above ``mesh_latency_seconds``, sustained over the window.
    Units follow the name (``_ratio``/``_percent``, ``_seconds``/``_milliseconds``); of a
    summary with quantiles only the median is judged."""
    out = []
    t = inp.opt.thresholds
    for metric in sorted(m for m in inp.history if m.startswith("autobot_mesh_")):
        kind = _mesh_kind(metric)
        if kind is None:
            continue
        scale = 0.01 if metric.endswith("_percent") else 0.001 if metric.endswith("_milliseconds") else 1.0
        lim = t.mesh_loss_ratio if kind == "loss" else t.mesh_latency_seconds
        for s in inp.history[metric]:
            if s.labels.get("quantile", "0.5") != "0.5":  # judge the median, not the tail
                continue
            pts = [(ts, v * scale) for ts, v in clean(s.points)]
            if not enough(pts, inp.window):
                continue
            found = sustained(pts, lim)
            if found is None:
                continue
            avg, share = found
            src = next((s.labels[k] for k in SRC if s.labels.get(k)), s.labels.get("host"))
            dst = next((s.labels[k] for k in DST if s.labels.get(k)), "?")
            what, thr = ((f"loss {avg:.1%}", f"{lim:.1%}") if kind == "loss"
                         else (f"latency {avg * 1000:.1f} ms", f"{lim * 1000:g} ms"))
            out.append(Recommendation(
                "network", f"mesh_{kind}", "high" if avg >= 5 * lim else "medium", src, f"{src}->{dst}",
                f"{src} -> {dst}: {what} on average (threshold {thr})",
                evidence(inp, metric, dict(s.labels), pts, avg=avg, max=max(v for _, v in pts),
                         share_above=share, threshold=lim),
                "check the link, NIC errors and MTU between the two hosts",
                metric=metric, matchers=dict(s.labels)))
    return out


def analyze_all(inp: AnalysisInput) -> list[Recommendation]:
    """Every analyzer, most severe first (then category, target)."""
    from .host_analyzers import analyze_cpu, analyze_disk, analyze_load, analyze_memory, analyze_thermal

    recs: list[Recommendation] = []
    for fn in (analyze_services, analyze_cpu, analyze_memory, analyze_disk, analyze_load,
               analyze_redis, analyze_network, analyze_thermal):
        recs += fn(inp)
    recs.sort(key=lambda r: (-r.severity.rank, r.category, r.target))
    return recs
