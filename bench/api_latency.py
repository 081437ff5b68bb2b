"""Hub API latency under load: ``wrk -t2 -c50 --latency`` against GET /api/metrics/current,
side by side with a reference server in the same run.

The hub runs as ``autobot-monitor start`` with a temporary --data-dir and a config with
``monitoring_interval: 1`` (it keeps collecting the local host every second during the load).

Reference (default ``static``): the same response bytes, fetched from the hub once, written to a
file and served by ``python -m http.server --protocol HTTP/1.1`` (stdlib, keep-alive). The
endpoint under test serves pre-rendered bytes, so a static server of the same payload in the same
runtime is the like-for-like floor. ``--reference node_exporter`` uses prometheus-node-exporter's
/metrics instead: a Go server, but one that collects on every request, so it measures collection
throughput more than serving. Target (issue 2): p99 <= 10 ms at 50 connections.

    .venv/bin/python bench/api_latency.py [--duration 15] [--reps 2] [--reference static]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    CpuMeter,
    Procs,
    Scraper,
    agent_command,
    free_port,
    machine_info,
    median,
    print_machine,
    ratio,
    start_node_exporter,
    table,
    wait_http,
    write_json,
)

TARGET_P99_MS = 10.0
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_wrk(out: str) -> dict:
    res: dict = {}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    res["req_per_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if m:
        res["mean_ms"], res["stdev_ms"], res["max_ms"] = (_ms(x) for x in m.groups())
    return res


def run_wrk(wrk: str, url: str, threads: int, conns: int, duration: float, pid: int) -> dict:
    meter = CpuMeter({"server": pid}).start()
    r = subprocess.run([wrk, f"-t{threads}", f"-c{conns}", f"-d{duration:g}s", "--latency", url],
                       capture_output=True, text=True, timeout=duration + 60, check=False)
    meter.stop()
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stderr.strip()}")
    res = parse_wrk(r.stdout)
    res["server_cpu_s"] = meter.cpu["server"]
    res["server_cpu_ms_per_req"] = (1000 * meter.cpu["server"] / res["requests"]
                                    if res.get("requests") else None)
    res["raw"] = r.stdout
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=15.0, help="wrk -d seconds per run")
    ap.add_argument("--reps", type=int, default=2, help="repetitions (each: hub run + reference)")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--connections", type=int, default=50, help="wrk -c")
    ap.add_argument("--reference", choices=("static", "node_exporter"), default="static")
    ap.add_argument("--path", default="/api/metrics/current", help="hub path under test")
    ap.add_argument("--out", default="api_latency", help="name of the JSON under bench/out/")
    args = ap.parse_args(argv)
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    info = machine_info()
    print_machine(info)
    runs: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    try:
        with Procs() as procs:
            hport = free_port()
            cfg = tmp / "config.yaml"
            cfg.write_text(f"monitoring_interval: 1\ndashboard_host: 127.0.0.1\n"
                           f"dashboard_port: {hport}\n")
            hub = procs.start("hub", [*agent_command(), "start", "--config", str(cfg),
                                      "--data-dir", str(tmp / "data"), "--port", str(hport)])
            wait_http(hport, "/healthz", hub)
            # wait for the first cycles so /api/metrics/current carries real figures
            time.sleep(3)
            body = Scraper(hport, args.path).get()
            if args.reference == "static":
                www = tmp / "www"
                www.mkdir()
                (www / "current.json").write_bytes(body)
                rport = free_port()
                ref = procs.start("http_server", [sys.executable, "-m", "http.server", "--bind",
                                                  "127.0.0.1", "--protocol", "HTTP/1.1",
                                                  "--directory", str(www), str(rport)])
                ref_url = f"http://127.0.0.1:{rport}/current.json"
                wait_http(rport, "/current.json", ref)
                ref_name = "python http.server (static, same bytes)"
            else:
                # default --web.max-requests=40 would answer 503 to 10 of the 50 connections
                ref, rport = start_node_exporter(procs, extra=["--web.max-requests=0"])
                ref_url = f"http://127.0.0.1:{rport}/metrics"
                ref_name = "node_exporter /metrics"
            ref_size = len(Scraper(rport, ref_url.split(str(rport), 1)[1]).get())
            hub_url = f"http://127.0.0.1:{hport}{args.path}"
            print(f"hub {hub_url} ({len(body)} B) vs reference {ref_name} {ref_url} "
                  f"({ref_size} B); wrk -t{args.threads} -c{args.connections} "
                  f"-d{args.duration:g}s --latency", flush=True)
            for r in range(args.reps):
                order = [("hub", hub_url, hub.pid), ("reference", ref_url, ref.pid)]
                if r % 2:
                    order.reverse()
                rep = {}
                for name, url, pid in order:
                    rep[name] = run_wrk(wrk, url, args.threads, args.connections, args.duration,
                                        pid)
                    x = rep[name]
                    print(f"rep {r + 1}/{args.reps} {name:9s}: p50 {x['p50_ms']:.2f} ms, p90 "
                          f"{x['p90_ms']:.2f} ms, p99 {x['p99_ms']:.2f} ms, {x['req_per_s']:.0f}"
                          f" req/s, errors {x['socket_errors']}, non-2xx {x['non_2xx']}",
                          flush=True)
                runs.append(rep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    keys = ("p50_ms", "p90_ms", "p99_ms", "req_per_s", "server_cpu_ms_per_req")
    med = {who: {k: median([r[who][k] for r in runs if r[who][k] is not None]) for k in keys}
           for who in ("hub", "reference")}
    rows = [[k, med["hub"][k], med["reference"][k], ratio(med["hub"][k], med["reference"][k])]
            for k in keys]
    print()
    print(table(rows, ["median over reps", "hub", f"ref: {ref_name}", "hub/ref"]))
    met = med["hub"]["p99_ms"] <= TARGET_P99_MS
    print(f"target: p99 <= {TARGET_P99_MS:g} ms at {args.connections} connections -> "
          f"{med['hub']['p99_ms']:.2f} ms: {'MET' if met else 'MISSED'}")
    path = write_json(args.out, {
        "benchmark": "api_latency", "machine": info, "args": vars(args),
        "hub_url_path": args.path, "hub_bytes": len(body), "reference": ref_name,
        "reference_bytes": ref_size, "median": med,
        "target": {"p99_ms_max": TARGET_P99_MS, "met": met}, "runs": runs})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
