"""Optimizer API under ``/api/optimizer/``: recommendations, apply one by id, run a cycle,
action history. Writes (``POST``) change the system and belong to administrators once access
control exists. A request names a recommendation id only: commands, paths and pids come from the
config. ``POST /apply/{id}`` is a dry run unless the body says ``{"dry_run": false}``.
Errors: 404 unknown id, 409 refused by a guardrail, 503 optimizer not running, each with
``{"error": message}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..optimizer.service import OptimizerService


class ApplyBody(BaseModel):
    """``dry_run`` defaults to true: only ``{"dry_run": false}`` changes the system."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = True


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apply: bool = False


def _err(status: int, msg: str) -> JSONResponse:
    return JSONResponse({"error": msg}, status_code=status)


def build_router(optimizer: OptimizerService | None) -> APIRouter:
    """Routes over ``optimizer`` (None: the hub runs none; every route answers 503)."""
    r = APIRouter(prefix="/api/optimizer", tags=["optimizer"])

    def opt() -> OptimizerService | None:
        return optimizer

    @r.get("/recommendations", summary="Recommendations of the last analysis (refresh=true: analyse now)")
    async def recommendations(refresh: bool = False):
        o = opt()
        if o is None:
            return _err(503, "optimizer not running")
        if refresh or o.analyzed_at is None:
            await o.analyze()
        return {"timestamp": o.analyzed_at, "auto_optimization_enabled": o.cfg.auto_optimization_enabled,
                "actions_last_hour": o.guard.actions_last_hour(),
                "max_optimizations_per_hour": o.cfg.max_optimizations_per_hour,
                "recommendations": [rec.to_json() for rec in o.recommendations.values()]}

    @r.post("/apply/{rec_id}", summary="Apply one recommendation by id: a dry run (the plan only) "
            "unless the body is {\"dry_run\": false}")
    async def apply(rec_id: str, body: ApplyBody | None = None):
        o = opt()
        if o is None:
            return _err(503, "optimizer not running")
        try:
            res = await o.apply(rec_id, dry_run=(body or ApplyBody()).dry_run)
        except KeyError:
            return _err(404, f"no recommendation {rec_id!r} in the last analysis")
        dec = res.get("decision")
        if dec is not None and not dec["applied"]:
            return JSONResponse({"error": dec["reason"], **res}, status_code=409)
        return res

    @r.post("/run", summary="Run one optimizer cycle now (apply=true: apply what the guardrails allow)")
    async def run(body: RunBody | None = None):
        o = opt()
        if o is None:
            return _err(503, "optimizer not running")
        return await o.run_cycle("cli" if (body or RunBody()).apply else "none")

    @r.get("/history", summary="Applied actions, effects and undos, newest first")
    async def history(limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        o = opt()
        if o is None:
            return _err(503, "optimizer not running")
        return {"history": o.history(limit), "given_up": o.state.given_up,
                "pending_effects": len(o.state.pending)}

    return r
