"""Alert API: list and filter, acknowledge, silences, transition history, rule status.

Reads come from the hub's alert engine (in memory, cheap); writes change operator state only
(they never run an evaluation). Bad input is a 400/404 with ``{"error": message}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..hub.snapshot import alert_json
from ..matchers import legacy_spellings
from ..severity import SEVERITY_VALUES, Severity
from ..timeparse import parse_duration


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field("operator", max_length=100, description="who acknowledges")


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[str] | dict[str, str] = Field(
        description="label matchers: [\"alertname=HighCpuUsage\", \"host=~web-.*\"] "
                    "(= != =~ !~, RE2, fully anchored); alertname is the rule name. Deprecated: "
                    "a mapping label -> value, '!value' or '~regex'")
    duration: str | float = Field("1h", description="seconds or 30m, 2h, 1d")
    comment: str = Field("", max_length=1000)
    created_by: str = Field("operator", max_length=100)


def _err(status: int, msg: str) -> JSONResponse:
    return JSONResponse({"error": msg}, status_code=status)


def build_router(hub) -> APIRouter:
    """Routes over ``hub.alerts`` (an :class:`~..alerts.service.AlertService`), ``hub.snapshot``
    (its timestamp) and ``hub.clock`` (whether a silence is active)."""
    r = APIRouter(tags=["alerts"])
    _add_alert_routes(r, hub)
    _add_silence_routes(r, hub)
    return r


def _add_alert_routes(r: APIRouter, hub) -> None:
    """``GET /api/alerts``, ``POST``/``DELETE /api/alerts/{fingerprint}/ack``,
    ``GET /api/alerts/history`` and ``GET /api/alerts/rules``."""

    @r.get("/api/alerts", summary="Pending and firing alerts, most severe first; counts per severity "
           "of the listed alerts")
    async def list_alerts(
        state: Annotated[Literal["pending", "firing"] | None, Query()] = None,
        severity: Annotated[Severity | None, Query()] = None,
        host: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict:
        alerts = hub.alerts.engine.active(state, severity, host)
        counts = dict.fromkeys(SEVERITY_VALUES, 0)  # of the listed (filtered) alerts
        firing = dict.fromkeys(SEVERITY_VALUES, 0)
        for a in alerts:
            counts[a.severity] += 1
            if a.state == "firing":
                firing[a.severity] += 1
        return {"timestamp": hub.snapshot.timestamp or None,
                "alerts": [alert_json(a) for a in alerts], "counts": counts, "firing": firing}

    @r.post("/api/alerts/{fingerprint}/ack", summary="Acknowledge an alert (no repeat notifications)")
    async def ack(fingerprint: str, body: AckBody | None = None):
        try:
            a = hub.alerts.engine.acknowledge(fingerprint, (body or AckBody()).by)
        except KeyError:
            return _err(404, f"no active alert {fingerprint!r}")
        return alert_json(a)

    @r.delete("/api/alerts/{fingerprint}/ack", summary="Withdraw an acknowledgement")
    async def unack(fingerprint: str):
        try:
            return alert_json(hub.alerts.engine.unacknowledge(fingerprint))
        except KeyError:
            return _err(404, f"no active alert {fingerprint!r}")

    @r.get("/api/alerts/history", summary="Recent state transitions, newest first")
    async def history(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict:
        items = list(hub.alerts.engine.history)[-limit:]
        return {"transitions": items[::-1]}

    @r.get("/api/alerts/rules", summary="Rules with the number of label sets each matched and "
           "their health (ok/err/unknown, lastError, lastEvaluation, evaluationTime)")
    async def rules() -> dict:
        svc = hub.alerts
        return {"rules": [{**rule.model_dump(by_alias=True), "series": svc.rule_series.get(rule.name),
                           "metric_seen": svc.rule_seen.get(rule.name, False),
                           **svc.health.get(rule.name)}
                          for rule in svc.rules]}


def _add_silence_routes(r: APIRouter, hub) -> None:
    """``GET``/``POST /api/silences`` and ``DELETE /api/silences/{silence_id}``."""

    @r.get("/api/silences", summary="Silences (active and recently expired)")
    async def silences() -> dict:
        now = hub.clock.time()
        return {"silences": [{**s.to_json(), "active": s.active(now)}
                             for s in hub.alerts.engine.silences.values()]}

    @r.post("/api/silences", status_code=201, summary="Silence alerts matching label matchers")
    async def add_silence(body: SilenceBody, request: Request):
        try:
            duration = parse_duration(body.duration)
            s = hub.alerts.engine.add_silence(body.matchers, duration, body.comment, body.created_by)
        except ValueError as e:
            return _err(400, str(e))
        raw = await request.json()  # the mapping spelling still works; the answer says it is old
        mapping = raw.get("matchers") if isinstance(raw, dict) else None
        warnings = []
        if isinstance(mapping, dict):
            texts = dict(legacy_spellings(mapping))
            warnings = [f"matchers.{k}: the mapping spelling ('~regex'/'!value') is deprecated: "
                        f"send matchers as a list, e.g. [{texts.get(k, f'{k}={v}')!r}]"
                        for k, v in mapping.items()]
        return {**s.to_json(), "active": True, **({"warnings": warnings} if warnings else {})}

    @r.delete("/api/silences/{silence_id}", summary="Delete (end) a silence now; the history "
              "records silence_deleted with who: the authenticated token's name, else ?by=")
    async def expire(silence_id: str, request: Request,
                     by: Annotated[str, Query(max_length=100)] = "operator"):
        who = getattr(request.state, "who", None) or by
        try:
            s = hub.alerts.engine.expire_silence(silence_id, who)
        except KeyError:
            return _err(404, f"no silence {silence_id!r}")
        return {**s.to_json(), "active": False}
