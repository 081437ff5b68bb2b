"""Hub scale: one real hub process scraping N simulated agents at a 10 s interval.

The agents are one separate asyncio process answering HTTP on N loopback ports, each with the
same fixed 300-series exposition (node_exporter-like counters and gauges), so the hub does the
real work per host: connect, HTTP, parse, summarise, store every sample, evaluate alert rules.
For each N the hub runs ``--cycles`` measured cycles after one warm-up; reported per N:

* cycle duration (``autobot_hub_cycle_duration_seconds`` each cycle): p50 and max;
* hub CPU: process user+system seconds over the measured cycles / wall seconds (= cores used);
* hosts per core = N / cores used; the projection for 1,000 hosts scales CPU per host linearly.

    .venv/bin/python bench/hub_scale.py [--hosts 50 100 200] [--cycles 3] [--interval 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import psutil


def exposition(series: int = 300) -> bytes:
    """A fixed exposition of ``series`` samples: CPU counters, network counters, gauges."""
    lines, n = [], 0
    lines.append("# TYPE node_cpu_seconds_total counter")
    for cpu in range(16):
        for mode in ("user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"):
            lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}} {1000 + cpu * 7.5}')
            n += 1
    lines.append("# TYPE node_network_receive_bytes_total counter")
    for dev in range(40):
        lines.append(f'node_network_receive_bytes_total{{device="eth{dev}"}} {123456789 + dev}')
        n += 1
    lines.append("# TYPE node_filesystem_avail_bytes gauge")
    while n < series:
        lines.append(f'node_filesystem_avail_bytes{{device="sd{n}",mountpoint="/m{n}"}} {1e9 + n}')
        n += 1
    return ("\n".join(lines) + "\n").encode()


def response(body: bytes, n: int) -> bytes:
    """``body`` plus a counter of the answers so far: each answer is a new collection (the hub
    does not store an agent's byte-identical repeat of its previous one)."""
    body += f"# TYPE autobot_fake_collections_total counter\nautobot_fake_collections_total {n}\n".encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


async def serve_fakes(ports: list[int]) -> None:
    """Answer every request on every port with the fixed exposition and a changing counter
    (keep-alive)."""
    body = exposition()
    answers = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answers
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                answers += 1
                writer.write(response(body, answers))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", p, backlog=64) for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cycle_seconds(text: str) -> float | None:
    for ln in text.splitlines():
        if ln.startswith("autobot_hub_cycle_duration_seconds"):
            return float(ln.rsplit(" ", 1)[1])
    return None


def run(n: int, cycles: int, interval: float) -> dict:
    ports = free_ports(n + 1)
    hub_port, agent_ports = ports[0], ports[1:]
    tmp = tempfile.mkdtemp(prefix="abm-scale-")
    fakes = subprocess.Popen([sys.executable, __file__, "--serve", *map(str, agent_ports)],
                             stdout=subprocess.PIPE, text=True)
    assert fakes.stdout.readline().strip() == "ready"
    cfg = os.path.join(tmp, "hub.yaml")
    hosts = "\n".join(f"  - {{name: sim{i:04d}, address: '127.0.0.1:{p}', role: sim}}"
                      for i, p in enumerate(agent_ports))
    with open(cfg, "w") as f:
        f.write(f"monitoring_interval: {interval}\ndashboard_port: {hub_port}\n"
                f"dashboard_enabled: false\ncollectors: {{disabled: [gpu, npu]}}\n"
                f"hosts:\n{hosts}\n")
    hub = subprocess.Popen([sys.executable, "-m", "autobot_monitor.cli", "start", "--config", cfg,
                            "--data-dir", os.path.join(tmp, "d")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{hub_port}"
    try:
        def status() -> dict:
            return httpx.get(url + "/api/system/status", timeout=5).json()
        deadline = time.monotonic() + 120
        while True:
            try:
                if status()["cycles"] >= 1:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("hub did not complete a cycle")
            time.sleep(0.2)
        proc = psutil.Process(hub.pid)
        c0, t0, start_cycles = proc.cpu_times(), time.monotonic(), status()["cycles"]
        durations, seen = [], start_cycles
        while seen < start_cycles + cycles:
            time.sleep(0.25)
            st = status()
            if st["cycles"] > seen:
                seen = st["cycles"]
                durations.append(cycle_seconds(httpx.get(url + "/metrics", timeout=5).text))
        c1, t1 = proc.cpu_times(), time.monotonic()
        hosts_up = sum(1 for h in st["hosts"].values() if h["up"])
    finally:
        hub.terminate()
        hub.wait(30)
        fakes.terminate()
        fakes.wait(10)
    cores = ((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0)
    ds = [d for d in durations if d is not None]
    return {"hosts": n, "series_per_host": 300, "interval_seconds": interval, "cycles": len(ds),
            "hosts_up": hosts_up - 1, "cycle_p50_seconds": statistics.median(ds),
            "cycle_max_seconds": max(ds), "hub_cpu_cores": cores,
            "hosts_per_core": n / cores if cores > 0 else None,
            "cycle_within_interval": max(ds) < interval}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", nargs="+", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        asyncio.run(serve_fakes(a.serve))
        return
    rows = [run(n, a.cycles, a.interval) for n in a.hosts]
    big = rows[-1]
    per_host_cores = big["hub_cpu_cores"] / big["hosts"]
    per_host_cycle = big["cycle_p50_seconds"] / big["hosts"]
    proj = {"hosts": 1000, "hub_cpu_cores": per_host_cores * 1000,
            "cycle_seconds_if_linear": per_host_cycle * 1000, "basis": f"N={big['hosts']}, linear"}
    if a.json:
        print(json.dumps({"runs": rows, "projection_1000": proj, "cpus": os.cpu_count()}, indent=2))
        return
    print(f"{'hosts':>6} {'up':>5} {'cycle p50':>10} {'cycle max':>10} {'hub CPU':>9} {'hosts/core':>11}")
    for r in rows:
        print(f"{r['hosts']:>6} {r['hosts_up']:>5} {r['cycle_p50_seconds']:>9.2f}s "
              f"{r['cycle_max_seconds']:>9.2f}s {r['hub_cpu_cores']:>8.2f}c {r['hosts_per_core']:>11.0f}")
    print(f"1,000 hosts (projected from {proj['basis']}): {proj['hub_cpu_cores']:.2f} cores, "
          f"cycle ~{proj['cycle_seconds_if_linear']:.1f} s")


if __name__ == "__main__":
    main()
