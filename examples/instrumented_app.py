#!/usr/bin/env python3
"""A small real HTTP service instrumented with autobot_monitor's recorders (Starlette + uvicorn).

    python examples/instrumented_app.py --port 8000 --endpoint search=0.06 --endpoint report=0.3

Endpoints:

* ``GET /work/NAME``: simulated work that sleeps NAME's delay (seconds, ``--endpoint NAME=DELAY``;
  defaults ``search=0.06``, ``report=0.3``), timed as operation NAME. ``?fail=1`` makes the work
  raise after its delay: the answer is 500 and the outcome ``error``. Unknown NAME: 404, not timed.
* ``GET /process/MODALITY``: simulated multimodal processing (``--modality NAME=DELAY``, defaults
  ``text=0.02``, ``image=0.15``) recorded in ``autobot_multimodal_processing_seconds``, counted as
  one NPU inference of model type MODALITY, and timed as operation ``process``.
* ``GET /metrics``: the recorders' Prometheus exposition (one line: ``metrics_asgi_app``).
* ``GET /healthz``: ``ok``.

Scrape it with the hub: see examples/app-monitoring.yaml.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from autobot_monitor.recorders import PerformanceMetricsRecorder, metrics_asgi_app


class SimulatedFailure(Exception):
    """Raised by the simulated work when the request asked for ``?fail=1``."""


def _delays(items: list[str], defaults: dict[str, float], what: str) -> dict[str, float]:
    out = dict(defaults) if not items else {}
    for item in items:
        name, sep, delay = item.partition("=")
        try:
            value = float(delay)
        except ValueError:
            value = -1.0
        if not sep or not name or not value >= 0:
            raise SystemExit(f"--{what}: expected NAME=SECONDS, got {item!r}")
        out[name] = value
    return out


def build_app(work: dict[str, float], modalities: dict[str, float]) -> Starlette:
    """The Starlette app; recorders on their own registry (``app.state.recorder``)."""
    rec = PerformanceMetricsRecorder(max_label_sets=100)
    for name in work:
        rec.declare(name)  # series exist at 0 before the first request
    rec.declare("process")
    for m in modalities:  # likewise for the inference and multimodal series
        rec.npu_inferences.labels(m)
        rec.inference_durations.labels("npu", m)
        rec.multimodal.labels(m)
    rec.set_health_score("instrumented_app", 100)

    async def do_work(request: Request):
        name = request.path_params["name"]
        if name not in work:
            return JSONResponse({"error": f"no endpoint {name!r}"}, status_code=404)
        try:
            async with rec.time(name):
                await asyncio.sleep(work[name])
                if request.query_params.get("fail") == "1":
                    raise SimulatedFailure(name)
        except SimulatedFailure:
            return JSONResponse({"error": "simulated failure"}, status_code=500)
        return JSONResponse({"work": name, "delay_seconds": work[name]})

    async def do_process(request: Request):
        modality = request.path_params["modality"]
        if modality not in modalities:
            return JSONResponse({"error": f"no modality {modality!r}"}, status_code=404)
        async with rec.time("process"), rec.time_inference("npu", modality), \
                rec.time_multimodal(modality):
            await asyncio.sleep(modalities[modality])
        return JSONResponse({"modality": modality})

    async def healthz(_: Request):
        return PlainTextResponse("ok\n")

    app = Starlette(routes=[
        Route("/work/{name}", do_work),
        Route("/process/{modality}", do_process),
        Route("/healthz", healthz),
        Route("/metrics", metrics_asgi_app(rec)),
    ])
    app.state.recorder = rec
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--endpoint", action="append", default=[], metavar="NAME=SECONDS",
                   help="a /work/NAME endpoint and its delay (repeatable)")
    p.add_argument("--modality", action="append", default=[], metavar="NAME=SECONDS",
                   help="a /process/NAME modality and its delay (repeatable)")
    args = p.parse_args(argv)
    app = build_app(_delays(args.endpoint, {"search": 0.06, "report": 0.3}, "endpoint"),
                    _delays(args.modality, {"text": 0.02, "image": 0.15}, "modality"))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
