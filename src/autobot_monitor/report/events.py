"""Sections 5-6: alerts and actions, benchmarks.

**Alerts.** Incidents (an alert that fired) are rebuilt from the alert engine's transition
history (``pending -> firing`` starts one, ``firing -> resolved`` ends it, matched by
fingerprint) and from the alerts log (a ``resolved`` line carries ``startsAt`` and ``endsAt``),
merged on (fingerprint, fire time). Counted: incidents that fired inside the period, by severity
and by rule; the noisiest rules; mean time to resolve over those resolved (resolve - fire).
The engine keeps a bounded history (``alerting.history_size``), so ``history_complete`` says
whether the oldest transition it still holds is older than the period start.

**Optimizations.** The optimizer's audit trail ``logs/optimization.log`` (JSONL): actions
``applied`` in the period with their measured effect (``effect`` lines, matched by
``action_id``: before/after means, verdict); "none recorded" when the file does not exist.

**Benchmarks.** Saved runs (``logs/benchmarks/``) per type: the latest run in the period with
its score and grade, the change against the last run before the period (else the first run in
it), and the regressions :func:`~..benchmark.history.compare` flags between those two runs.
"""

from __future__ import annotations

from datetime import datetime

from ..severity import SEVERITY_VALUES

NOISIEST = 5
MAX_LISTED = 50


def _ts(v) -> float | None:
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and v:
        try:
            return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def incidents(transitions: list[dict] | None, log_lines: list[dict] | None) -> list[dict]:
    """``[{fingerprint, rule, severity, labels, fired_at, resolved_at}]`` from both sources."""
    inc: dict[tuple[str, float], dict] = {}
    open_: dict[str, dict] = {}
    for tr in sorted(transitions or [], key=lambda x: x.get("time") or 0):
        fp, to, t = tr.get("fingerprint"), tr.get("to"), _ts(tr.get("time"))
        if not fp or t is None:
            continue
        if to == "firing":
            d = {"fingerprint": fp, "rule": tr.get("rule"), "severity": tr.get("severity"),
                 "labels": tr.get("labels") or {}, "fired_at": t, "resolved_at": None}
            inc[(fp, round(t, 3))] = open_[fp] = d
        elif to == "resolved" and fp in open_:
            open_.pop(fp)["resolved_at"] = t
    for ln in log_lines or []:
        fp, start = ln.get("fingerprint"), _ts(ln.get("startsAt"))
        if not fp or start is None or ln.get("status") not in ("firing", "resolved", "flapping"):
            continue
        d = inc.setdefault((fp, round(start, 3)), {
            "fingerprint": fp, "rule": ln.get("rule"), "severity": ln.get("severity"),
            "labels": ln.get("labels") or {}, "fired_at": start, "resolved_at": None})
        end = _ts(ln.get("endsAt"))
        if ln.get("status") == "resolved" and end is not None:
            d["resolved_at"] = end
    return sorted(inc.values(), key=lambda d: d["fired_at"])


def alerts_section(transitions: list[dict] | None, log_lines: list[dict] | None,
                   start: float, end: float) -> dict:
    """Counts, noisiest rules and MTTR for incidents that fired in ``[start, end)``."""
    if transitions is None and log_lines is None:
        return {"recorded": False, "incidents": None, "by_severity": None, "by_rule": None,
                "noisiest": None, "mean_time_to_resolve_seconds": None, "resolved": None,
                "unresolved": None, "history_complete": None, "listed": []}
    times = [_ts(t.get("time")) for t in transitions or []]
    times = [t for t in times if t is not None]
    complete = bool(log_lines) or (bool(times) and min(times) <= start)
    inside = [i for i in incidents(transitions, log_lines) if start <= i["fired_at"] < end]
    by_sev = {s: sum(1 for i in inside if i["severity"] == s) for s in SEVERITY_VALUES}
    by_rule: dict[str, int] = {}
    for i in inside:
        by_rule[i["rule"] or "?"] = by_rule.get(i["rule"] or "?", 0) + 1
    resolved = [i for i in inside if i["resolved_at"] is not None and i["resolved_at"] < end]
    ttr = [i["resolved_at"] - i["fired_at"] for i in resolved]
    return {"recorded": True, "incidents": len(inside), "by_severity": by_sev,
            "by_rule": dict(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
            "noisiest": [{"rule": r, "incidents": n} for r, n in
                         sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))[:NOISIEST]],
            "mean_time_to_resolve_seconds": sum(ttr) / len(ttr) if ttr else None,
            "resolved": len(resolved), "unresolved": len(inside) - len(resolved),
            "history_complete": complete,
            "listed": [{**i, "duration_seconds": (i["resolved_at"] - i["fired_at"])
                        if i["resolved_at"] is not None else None} for i in inside[-MAX_LISTED:]]}


def optimizations_section(lines: list[dict] | None, start: float, end: float) -> dict:
    """From the optimizer's audit lines: ``{"recorded": the log exists, "count": actions applied
    in the period, "events": {event: n} in the period, "actions": [{time, action, target, host,
    ok, summary, verdict, metric, change, change_ratio, undone}]}``; an action's effect is the
    latest ``effect`` line with its ``action_id`` (verdict ``pending`` until measured)."""
    if lines is None:
        return {"recorded": False, "count": None, "events": {}, "actions": []}
    effects = {ln.get("action_id"): ln for ln in lines if ln.get("event") == "effect"}
    events: dict[str, int] = {}
    actions = []
    for ln in lines:
        t = _ts(ln.get("time"))
        if t is None or not start <= t < end:
            continue
        ev = str(ln.get("event", "?"))
        events[ev] = events.get(ev, 0) + 1
        if ev != "applied":
            continue
        eff = (effects.get(ln.get("action_id")) or {}).get("effect") or ln.get("effect") or {}
        actions.append({"time": t, "action": ln.get("action"), "target": ln.get("target"),
                        "host": ln.get("host"), "ok": ln.get("ok"), "summary": ln.get("summary"),
                        "verdict": eff.get("verdict"), "metric": eff.get("metric"),
                        "change": eff.get("change"), "change_ratio": eff.get("change_ratio"),
                        "undone": (effects.get(ln.get("action_id")) or {}).get("undo")})
    return {"recorded": True, "count": len(actions), "events": dict(sorted(events.items())),
            "actions": actions[-MAX_LISTED:]}


def benchmarks_section(runs: list[dict] | None, start: float, end: float) -> dict:
    """Per benchmark type: latest run in the period, the change against the reference run and
    flagged regressions; ``types`` is empty when no run fell in the period."""
    from ..benchmark.history import compare

    if runs is None:
        return {"recorded": False, "types": {}}
    out: dict[str, dict] = {}
    for kind in sorted({r["type"] for r in runs}):
        mine = [r for r in runs if r["type"] == kind]
        when = [(_ts(r.get("finished") or r.get("started")) or 0.0, r) for r in mine]
        inside = [r for t, r in when if start <= t < end]
        if not inside:
            continue
        before = [r for t, r in when if t < start]
        latest = inside[-1]
        ref = before[-1] if before else (inside[0] if len(inside) > 1 else None)
        lo, ro = latest.get("overall") or {}, (ref or {}).get("overall") or {}
        change = (lo["score"] - ro["score"]) if lo.get("score") is not None and ro.get("score") is not None else None
        rows = compare(ref, latest) if ref is not None else []
        out[kind] = {"runs_in_period": len(inside), "latest_at": _ts(latest.get("finished")),
                     "score": lo.get("score"), "grade": lo.get("grade"),
                     "reference_at": _ts(ref.get("finished")) if ref else None,
                     "reference_score": ro.get("score"), "score_change": change,
                     "categories": {c: {"score": v.get("score"), "grade": v.get("grade")}
                                    for c, v in (latest.get("categories") or {}).items()},
                     "regressions": [r for r in rows if r["verdict"] == "regression"],
                     "improvements": [r for r in rows if r["verdict"] == "improvement"]}
    return {"recorded": True, "types": out}
