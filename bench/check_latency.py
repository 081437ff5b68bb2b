"""Service-check latency under CPU load: the hub's reported figures against references measured at
the same time by tools that run nothing else.

Setup: one CPU burner process per core (``while True: pass``), a redis-server, a
``python -m http.server`` and the hub (``autobot-monitor start``, ``monitoring_interval: 1``, local
host collection on) checking three services: Redis (PING), TCP (connect to the Redis port) and
HTTP (GET / of the http.server). For ``--duration`` seconds the benchmark polls
``/api/metrics/current`` once a second and, at the same time, runs ``redis-cli --latency``
(one ~1 s average PING per run without a tty, run again and again; the median of those) and ``curl -w %{time_total}`` against the same HTTP URL every 0.2 s.

Targets (issue 15.3): Redis PING median <= 2x redis-cli's average, TCP connect median <= 2 ms,
HTTP median <= 2x curl's median.

    .venv/bin/python bench/check_latency.py [--duration 30] [--src DIR] [--burners N] [--api-clients N]

``--src`` runs the hub from another source tree (``PYTHONPATH``), for before/after figures.
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
import urllib.request
from pathlib import Path

from common import Procs, free_port, median, wait_http


def _curl_loop(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", url],
                           capture_output=True, text=True, check=False)
        if r.returncode == 0:
            out.append(float(r.stdout))
        stop.wait(0.2)


def _api_load(port: int, stop: threading.Event) -> None:
    """Keeps the hub's event loop busy: full snapshots back to back over one connection."""
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        try:
            c.request("GET", "/api/metrics/current?full=true")
            c.getresponse().read()
        except (OSError, http.client.HTTPException):
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def _poll_hub(port: int, stop: threading.Event, out: dict[str, list[float]]) -> None:
    last = None
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/metrics/current",
                                        timeout=10) as r:
                doc = json.load(r)
        except (OSError, ValueError) as e:  # a slow answer under load: count it, keep polling
            out.setdefault("poll_errors", []).append(1.0)
            print(f"poll: {e}", file=sys.stderr)
            stop.wait(1.0)
            continue
        if doc.get("timestamp") != last:
            last = doc.get("timestamp")
            for name, svc in doc.get("services", {}).items():
                if svc.get("response_time_seconds") is not None:
                    out.setdefault(name, []).append(svc["response_time_seconds"])
                ping = (svc.get("details") or {}).get("ping_seconds")
                if ping is not None:
                    out.setdefault("redis_ping", []).append(ping)
        stop.wait(1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--src", help="source tree to run the hub from (default: this checkout)")
    ap.add_argument("--api-clients", type=int, default=0,
                    help="threads fetching /api/metrics/current?full=true back to back (busy loop)")
    ap.add_argument("--burners", type=int, default=os.cpu_count() or 1,
                    help="CPU burner processes (default: one per core)")
    args = ap.parse_args()
    src = Path(args.src or Path(__file__).resolve().parents[1] / "src").resolve()
    tmp = Path(tempfile.mkdtemp(prefix="check-latency-"))
    with Procs(tmp / "logs") as procs:
        burners = [procs.start(f"burner{i}", [sys.executable, "-c", "while True: pass"])
                   for i in range(args.burners)]
        rport, hport, port = free_port(), free_port(), free_port()
        procs.start("redis", [shutil.which("redis-server") or "redis-server", "--port", str(rport),
                              "--save", "", "--appendonly", "no", "--dir", str(tmp)])
        (tmp / "www").mkdir()
        (tmp / "www" / "index.html").write_text("ok\n")
        procs.start("http", [sys.executable, "-m", "http.server", str(hport), "--bind",
                             "127.0.0.1", "--directory", str(tmp / "www")])
        wait_http(hport, "/")
        cfg = tmp / "c.yaml"
        cfg.write_text(f"""monitoring_interval: 1
services:
  - {{type: redis, name: redis, address: "127.0.0.1:{rport}"}}
  - {{type: tcp, name: tcp, address: "127.0.0.1:{rport}"}}
  - {{type: http, name: http, url: "http://127.0.0.1:{hport}/"}}
""")
        os.environ["PYTHONPATH"] = str(src)
        hub = procs.start("hub", [sys.executable, "-m", "autobot_monitor.cli", "start", "--config",
                                  str(cfg), "--port", str(port), "--data-dir", str(tmp / "data")])
        wait_http(port, "/healthz", hub, timeout=60)
        time.sleep(3)  # first cycles: connections opened
        stop = threading.Event()
        hub_fig: dict[str, list[float]] = {}
        curl: list[float] = []
        threads = [threading.Thread(target=_poll_hub, args=(port, stop, hub_fig)),
                   threading.Thread(target=_curl_loop, args=(f"http://127.0.0.1:{hport}/", stop,
                                                              curl))]
        threads += [threading.Thread(target=_api_load, args=(port, stop))
                    for _ in range(args.api_clients)]
        for t in threads:
            t.start()
        cli_avgs = []  # without a tty, `redis-cli --latency` samples ~1 s, prints, exits
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            cli = subprocess.run(["redis-cli", "-p", str(rport), "--latency"],
                                 capture_output=True, text=True, check=False, timeout=30)
            cli_avgs.append(float(cli.stdout.split()[2]))  # "min max avg samples", ms
        stop.set()
        for t in threads:
            t.join()
        for b in burners:
            procs.stop(b)
    rows = {
        "redis PING median (hub, ms)": median(hub_fig.get("redis_ping", [float("nan")])) * 1e3,
        "redis response median (hub, ms)": median(hub_fig.get("redis", [float("nan")])) * 1e3,
        "redis-cli --latency, median of 1 s avgs (ms)": median(cli_avgs),
        "tcp connect median (hub, ms)": median(hub_fig.get("tcp", [float("nan")])) * 1e3,
        "http median (hub, ms)": median(hub_fig.get("http", [float("nan")])) * 1e3,
        "http median (curl, ms)": median(curl) * 1e3 if curl else float("nan"),
        "hub cycles sampled": len(hub_fig.get("tcp", [])),
        "API polls failed": len(hub_fig.get("poll_errors", [])),
    }
    print(f"source: {src}  burners: {len(burners)} on {os.cpu_count()} cores  duration: "
          f"{args.duration:g}s  API clients: {args.api_clients}  load average at end: {os.getloadavg()[0]:.1f}")
    for k, v in rows.items():
        print(f"  {k:44s} {v:8.2f}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
