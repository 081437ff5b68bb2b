"""The hub's API under load with WebSocket clients, side by side with Glances' REST API.

One run:
1. ``autobot-monitor start`` (temporary data dir, ``monitoring_interval`` = --interval), waited
   on until it has published a cycle; baseline RSS and open fds of the hub process.
2. ``bench/ws_clients.py``: --ws reading WebSocket clients plus --silent clients that never read.
3. ``wrk -t2 -c50 -d DURATION --latency`` on GET /api/metrics/current while they are connected;
   the hub's RSS is sampled every second (peak).
4. The WebSocket clients leave; the hub's fds are polled until they are back to baseline (or 30 s).
5. Peer: ``glances -w --disable-webui`` (the Glances REST API, GET /api/4/all) under the same wrk.

Target (issue 16.10): hub p99 <= 50 ms, no error, RSS growth <= 20 MiB, fds back to baseline.

    .venv/bin/python bench/load_api.py [--duration 300] [--ws 200] [--silent 50]
        [--glances /tmp/glances-venv/bin/glances]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from api_latency import run_wrk
from common import (
    Procs,
    agent_command,
    free_port,
    machine_info,
    print_machine,
    ratio,
    rss_mb,
    table,
    wait_http,
    write_json,
)

HERE = Path(__file__).resolve().parent


def fds(pid: int) -> int:
    """Open file descriptors of ``pid`` (entries of /proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_targets(pid: int) -> list[str]:
    """What each open fd of ``pid`` points to (file path, ``socket:[inode]``...)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


class RssPeak(threading.Thread):
    """Samples /proc/PID/status VmRSS every second until stopped; ``peak`` in MiB."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, rss_mb(pid), threading.Event()

    def run(self) -> None:
        while not self._halt.wait(1.0):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


def _wait_cycle(port: int, timeout: float = 90.0, cycles: int = 3) -> None:
    """Until the hub has run ``cycles`` cycles (no fixed sleep): by then the store's worker
    threads have opened their SQLite reader connections (2 fds each, one per pool thread), so
    the fd baseline counts them."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/api/system/status", timeout=2)
            if r.json().get("cycles", 0) >= cycles:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the hub published no cycle")


def _hub_run(args, procs: Procs, tmp: Path, wrk: str) -> dict:
    port = free_port()
    cfg = tmp / "config.yaml"
    cfg.write_text(f"monitoring_interval: {args.interval}\ndashboard_host: 127.0.0.1\n"
                   f"dashboard_port: {port}\n")
    hub = procs.start("hub", [*agent_command(), "start", "--config", str(cfg),
                              "--data-dir", str(tmp / "data"), "--port", str(port)])
    wait_http(port, "/healthz", hub)
    _wait_cycle(port)
    base_rss, base_fds, base_targets = rss_mb(hub.pid), fds(hub.pid), fd_targets(hub.pid)
    ws = subprocess.Popen([sys.executable, str(HERE / "ws_clients.py"), "--url",
                           f"ws://127.0.0.1:{port}/ws", "--reading", str(args.ws),
                           "--silent", str(args.silent)], stdout=subprocess.PIPE, text=True)
    ready = ws.stdout.readline()
    if "ready" not in ready:
        raise RuntimeError(f"ws_clients did not start: {ready!r}")
    peak = RssPeak(hub.pid)
    peak.start()
    res = run_wrk(wrk, f"http://127.0.0.1:{port}/api/metrics/current", 2, 50, args.duration,
                  hub.pid)
    during_fds = fds(hub.pid)
    ws.terminate()
    out, _ = ws.communicate(timeout=60)
    res["ws"] = json.loads(out.strip().splitlines()[-1])
    deadline = time.monotonic() + 30
    while fds(hub.pid) > base_fds and time.monotonic() < deadline:
        time.sleep(0.5)
    res.update(rss_base_mib=base_rss, rss_peak_mib=peak.stop(), rss_after_mib=rss_mb(hub.pid),
               fds_base=base_fds, fds_during=during_fds, fds_after=fds(hub.pid),
               fds_added=sorted(set(fd_targets(hub.pid)) - set(base_targets)))
    procs.stop(hub)
    return res


def _glances_run(args, procs: Procs, wrk: str) -> dict | None:
    if not args.glances or not Path(args.glances).exists():
        print(f"glances not found at {args.glances}: peer skipped "
              "(python3 -m venv /tmp/glances-venv && /tmp/glances-venv/bin/pip install "
              "glances fastapi uvicorn jinja2)", file=sys.stderr)
        return None
    port = free_port()
    g = procs.start("glances", [args.glances, "-w", "--disable-webui", "-B", "127.0.0.1",
                                "-p", str(port), "-t", str(args.interval)])
    wait_http(port, "/api/4/all", g, timeout=90)
    res = run_wrk(wrk, f"http://127.0.0.1:{port}/api/4/all", 2, 50, args.duration, g.pid)
    procs.stop(g)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=300.0, help="wrk -d seconds")
    ap.add_argument("--ws", type=int, default=200, help="reading WebSocket clients")
    ap.add_argument("--silent", type=int, default=50, help="WebSocket clients that never read")
    ap.add_argument("--interval", type=float, default=5.0, help="hub monitoring_interval")
    ap.add_argument("--glances", default=shutil.which("glances") or "/tmp/glances-venv/bin/glances")
    ap.add_argument("--out", default="load_api")
    args = ap.parse_args(argv)
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    info = machine_info()
    print_machine(info)
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        with Procs() as procs:
            hub = _hub_run(args, procs, tmp, wrk)
            peer = _glances_run(args, procs, wrk)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys = ("p50_ms", "p90_ms", "p99_ms", "req_per_s", "socket_errors", "non_2xx",
            "server_cpu_ms_per_req")
    rows = [[k, hub.get(k), peer.get(k) if peer else None,
             ratio(hub[k], peer[k]) if peer and hub.get(k) and peer.get(k) else None] for k in keys]
    print(table(rows, ["wrk -t2 -c50", "hub /api/metrics/current", "glances /api/4/all",
                       "hub/glances"]))
    print(f"hub RSS MiB: base {hub['rss_base_mib']:.1f}, peak {hub['rss_peak_mib']:.1f}, after "
          f"{hub['rss_after_mib']:.1f}; fds: base {hub['fds_base']}, during {hub['fds_during']}, "
          f"after {hub['fds_after']} (new: {hub['fds_added']}); websocket clients: {hub['ws']}")
    growth = hub["rss_peak_mib"] - hub["rss_base_mib"]
    met = (hub["p99_ms"] <= 50 and not hub["socket_errors"] and not hub["non_2xx"]
           and growth <= 20 and hub["fds_after"] <= hub["fds_base"])
    print(f"target p99 <= 50 ms, no error, RSS growth <= 20 MiB ({growth:.1f}), fds back: "
          f"{'MET' if met else 'MISSED'}")
    for r in (hub, peer):
        if r:
            r.pop("raw", None)
    path = write_json(args.out, {"benchmark": "load_api", "machine": info, "args": vars(args),
                                 "hub": hub, "glances": peer, "met": met})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
