"""CPU cost of the web layer's guards and of log redaction, in process (no server, no sockets).

Side by side in the same run:

- log redaction: :class:`autobot_monitor.redaction.RedactFilter` on typical hub log records vs
  the reference cost of formatting the same record with ``logging.Formatter`` (what every record
  pays anyway), with 0 and with ``--secrets`` registered secrets;
- the access-control middleware (Host allowlist, Origin, bearer token check, access-log record
  built and dropped) around a trivial ASGI app vs that app called directly.

Prints a table and writes ``bench/out/websec_cost.json``. Run from the repository root:
``.venv/bin/python bench/websec_cost.py [--n 20000] [--secrets 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from autobot_monitor.config.security import AuthConfig  # noqa: E402
from autobot_monitor.redaction import RedactFilter  # noqa: E402
from autobot_monitor.secret_registry import register_secret  # noqa: E402
from autobot_monitor.web.auth import AuthMiddleware  # noqa: E402

LINES = {
    "access JSON line": ('{"time":1764620000.123,"client":"127.0.0.1","who":"ops","method":"GET",'
                         '"path":"/api/metrics/current","status":200,"duration_s":0.000412}', ()),
    "uvicorn WebSocket line": ('%s - "WebSocket %s" %d', ("127.0.0.1:50432", "/ws?token=abcdef123456", 403)),
    "notify failure line": ("channel %s: delivery failed (attempt %d): %s: %s",
                            ("hook", 1, "HTTPStatusError", "Server error '500 Internal Server Error' "
                             "for url 'http://user:pw@127.0.0.1:9/hook'")),
}


def _per_op(fn, n: int) -> float:
    """Best of 3 runs of ``n`` calls, microseconds per call."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def bench_logs(n: int) -> list[dict]:
    out = []
    flt, fmt = RedactFilter(), logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, (msg, args) in LINES.items():
        def rec(msg=msg, args=args):
            return logging.LogRecord("autobot_monitor", logging.INFO, __file__, 1, msg, args, None)

        def filtered(rec=rec):
            flt.filter(rec())

        def formatted(rec=rec):
            fmt.format(rec())

        out.append({"line": name, "redact_us": _per_op(filtered, n), "format_us": _per_op(formatted, n)})
    return out


def bench_middleware(n: int) -> dict:
    token = "bench-token-0123456789"
    cfg = AuthConfig.model_validate({"tokens": [{"name": "ops", "role": "admin",
                                                 "token_sha256": hashlib.sha256(token.encode()).hexdigest()}],
                                     "bearer_max_failures": 1000})

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = AuthMiddleware(app, lambda: cfg, environ={})
    scope = {"type": "http", "method": "GET", "path": "/api/system/status", "scheme": "http",
             "client": ("127.0.0.1", 5000), "headers": [(b"host", b"127.0.0.1:9090"),
             (b"authorization", f"Bearer {token}".encode()), (b"origin", b"http://127.0.0.1:9090")]}

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(_msg):
        return None

    logging.getLogger("autobot_monitor.access").disabled = True

    async def run(target) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                await target(scope, receive, send)
            best = min(best, time.perf_counter() - t0)
        return best / n * 1e6

    async def both():
        return await run(mw), await run(app)

    with_mw, bare = asyncio.run(both())
    return {"middleware_us": with_mw, "bare_app_us": bare}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="calls per measurement")
    ap.add_argument("--secrets", type=int, default=20, help="secrets registered for the 2nd pass")
    a = ap.parse_args()
    result = {"n": a.n, "logs_no_secrets": bench_logs(a.n)}
    for i in range(a.secrets):
        register_secret(f"registered-secret-value-{i:03d}")
    result["logs_with_secrets"] = bench_logs(a.n)
    result["middleware"] = bench_middleware(a.n)
    for key in ("logs_no_secrets", "logs_with_secrets"):
        print(f"{key}:")
        for r in result[key]:
            print(f"  {r['line']:<24} redact {r['redact_us']:6.2f} us   format {r['format_us']:6.2f} us")
    m = result["middleware"]
    print(f"middleware per request {m['middleware_us']:.2f} us, bare app {m['bare_app_us']:.2f} us")
    os.makedirs("bench/out", exist_ok=True)
    with open("bench/out/websec_cost.json", "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
