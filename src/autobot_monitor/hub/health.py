"""The fleet health score, explained: a number, its colour band and the terms it is made of.

Formula (0-100, also in the README):

* Three weighted terms, each a ratio in [0, 1]: ``hosts_up`` (weight 40: inventory hosts up,
  each weighted by priority: critical 4, high 3, medium 2, low 1), ``services_up`` (weight 40:
  service checks up) and ``headroom`` (weight 20: share of the up hosts' CPU, memory and
  largest-disk figures at or under their ``alert_thresholds``). A term with nothing to measure is
  left out and the others' weights renormalised; with no term at all the score is ``None``.
  ``score = 100 * sum(w * ratio) / sum(w)``; each term's ``penalty`` is
  ``100 * w * (1 - ratio) / sum(w)``, so ``score = 100 - sum(penalties)``.
* Caps, applied after: any firing ``critical`` alert caps the score at :data:`RED_CAP` (red
  band); a down host or service, or a firing ``high`` alert, caps it at :data:`GREEN_CAP` (never
  green). A cap that lowers the score is listed as a term too, its penalty being the points cut.
* ``data_dir`` (weight 40, ratio 0) appears only when the data dir, store file or log directory
  is no longer what the hub opened (:mod:`.datadir`); it also caps the score at :data:`RED_CAP`.
* Bands: ``green`` at 90 or more, ``yellow`` at 70 or more, ``red`` below, ``unknown`` for
  ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config.models import AlertThresholds

PRIORITY_WEIGHT = {"critical": 4, "high": 3, "medium": 2, "low": 1}
GREEN_MIN, YELLOW_MIN = 90.0, 70.0
GREEN_CAP, RED_CAP = 89.9, 69.9


def band(score: float | None) -> str:
    """``green`` / ``yellow`` / ``red`` for a score, ``unknown`` for ``None``."""
    if score is None:
        return "unknown"
    return "green" if score >= GREEN_MIN else "yellow" if score >= YELLOW_MIN else "red"


def _ratios(hosts: Mapping[str, Any], services: Mapping[str, dict[str, Any]],
            t: AlertThresholds) -> list[tuple[str, float, float, str]]:
    """(name, weight, ratio, detail) of each measured term."""
    out = []
    if hosts:
        tot = sum(PRIORITY_WEIGHT[h.priority] for h in hosts.values())
        up = [h for h in hosts.values() if h.up]
        out.append(("hosts_up", 40.0, sum(PRIORITY_WEIGHT[h.priority] for h in up) / tot,
                    f"{len(up)}/{len(hosts)} hosts up (priority-weighted)"))
    if services:
        n_up = sum(1 for s in services.values() if s["up"])
        out.append(("services_up", 40.0, n_up / len(services), f"{n_up}/{len(services)} services up"))
    checks, over = [], []
    for h in hosts.values():
        if not h.up:
            continue
        s = h.summary
        for what, v, lim in (("CPU", s.get("cpu_percent"), t.cpu_percent),
                             ("memory", (s.get("memory") or {}).get("used_percent"), t.memory_percent),
                             ("disk", s.get("disk_used_percent_max"), t.disk_percent)):
            if v is not None:
                checks.append(v <= lim)
                if v > lim:
                    over.append(f"{what} {v:.0f}% on {h.name}")
    if checks:
        detail = f"{sum(checks)}/{len(checks)} figures under thresholds"
        out.append(("headroom", 20.0, sum(checks) / len(checks),
                    detail + (f" ({', '.join(over[:3])})" if over else "")))
    return out


def health(hosts: Mapping[str, Any], services: Mapping[str, dict[str, Any]], t: AlertThresholds,
           alerts: Iterable[dict[str, Any]] = (), data_dir_ok: bool = True) -> dict[str, Any]:
    """The score explained: ``{"score": float|None, "band": str, "terms": [{"name", "detail",
    "weight", "value", "penalty"}]}``. ``hosts``: name -> HostState; ``services``: name -> check
    dict with ``up``; ``t``: AlertThresholds; ``alerts``: active alerts as the API's dicts
    (``state``, ``severity``). Values are ratios for weighted terms and counts for caps;
    penalties are score points, rounded to 0.1. ``data_dir_ok`` False: see the module doc."""
    parts = _ratios(hosts, services, t)
    if not data_dir_ok:
        parts.append(("data_dir", 40.0, 0.0, "the data dir is not the one the hub opened"))
    if not parts:
        return {"score": None, "band": "unknown", "terms": []}
    wsum = sum(w for _, w, _, _ in parts)
    terms = [{"name": n, "detail": d, "weight": w, "value": round(r, 4),
              "penalty": round(100 * w * (1 - r) / wsum, 1)} for n, w, r, d in parts]
    score = round(100 * sum(w * r for _, w, r, _ in parts) / wsum, 1)
    firing = [a for a in alerts if a.get("state") == "firing"]
    n_crit = sum(1 for a in firing if a.get("severity") == "critical")
    n_high = sum(1 for a in firing if a.get("severity") == "high")
    n_down = sum(1 for h in hosts.values() if not h.up) + sum(1 for s in services.values()
                                                                  if not s["up"])
    for name, n, cap, what in (("critical_alerts", n_crit, RED_CAP, "critical alert(s) firing"),
                               ("data_dir_gone", int(not data_dir_ok), RED_CAP, "data dir problem"),
                               ("down", n_down, GREEN_CAP, "host(s)/service(s) down"),
                               ("high_alerts", n_high, GREEN_CAP, "high alert(s) firing")):
        if n and score > cap:
            terms.append({"name": name, "detail": f"{n} {what}: capped at {cap}", "weight": None,
                          "value": n, "penalty": round(score - cap, 1)})
            score = cap
    return {"score": score, "band": band(score), "terms": terms}

