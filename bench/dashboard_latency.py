"""Dashboard figures (issue 5), measured in a real browser (Debian's chromium via Playwright)
against a real hub (``autobot-monitor start``, ``monitoring_interval: 1``, local host plus one
HTTP service check), all on 127.0.0.1.

1. Update latency, for N WebSocket updates, in the page:
   - ``cycle ts -> DOM``: from the message's ``timestamp`` (the hub's wall clock when the cycle
     started collecting, i.e. when its samples entered the hub) to the moment the page's
     ``#updated`` element carries it (MutationObserver), and to the next animation frame
     (``-> frame``: the DOM change is on screen at that frame). Same machine, same clock.
   - ``WS receive -> DOM``: the page's own share (parse + render), from the socket's message
     event to the DOM change.
   The hub's cycle duration (``autobot_hub_cycle_duration_seconds``, collection + store + render)
   is sampled alongside: cycle ts -> DOM minus it is the publish -> DOM part.
2. First load of ``/`` to interactive (``performance.mark("autobot-ready")``: first data on
   screen, handlers attached) and of ``/#charts`` to all charts drawn from history, median of
   ``--loads`` fresh browser contexts; DOMContentLoaded and load for reference.
3. Page weight: bytes of every file the first load fetched, raw and gzip -9 (the hub itself does
   not compress; a reverse proxy would).
4. ``--clients N`` concurrent WebSocket clients (Python ``websockets`` in this process) for
   ``--ws-seconds``: the hub's CPU (% of one core, /proc) against the same window with none,
   messages each client missed and the worst receive lag behind the cycle timestamp.

    .venv/bin/python bench/dashboard_latency.py [--updates 60] [--loads 5] [--clients 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import (
    CpuMeter,
    Procs,
    agent_command,
    free_port,
    machine_info,
    print_machine,
    table,
    wait_http,
    write_json,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# Injected before the page's own scripts (CDP, not subject to the page's CSP): records when each
# WebSocket message arrives and when #updated shows its timestamp (and the next frame).
PROBE = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__recv = new Map(); window.__dom = [];
  const W = window.WebSocket;
  window.WebSocket = function (...a) {
    const s = new W(...a);
    s.addEventListener('message', (e) => {
      try { window.__recv.set(JSON.parse(e.data).timestamp, now()); } catch (_) {}
    });
    return s;
  };
  window.WebSocket.prototype = W.prototype;
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('updated');
    new MutationObserver(() => {
      const ts = Number(el.dataset.ts); const t = now();
      if (!ts) return;
      requestAnimationFrame(() => window.__dom.push([ts, t, now(), window.__recv.get(ts) ?? null]));
    }).observe(el, { attributes: true, attributeFilter: ['data-ts'] });
  });
})();
"""


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def hub_cycle_seconds(url: str) -> float | None:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:  # noqa: S310 - loopback
        for line in r.read().decode().splitlines():
            if line.startswith("autobot_hub_cycle_duration_seconds"):
                return float(line.split()[-1])
    return None


def measure_updates(browser, url: str, n: int) -> dict:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(PROBE)
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']")
    cycles = []
    deadline = time.monotonic() + n * 1.5 + 20
    while page.evaluate("window.__dom.length") < n + 1 and time.monotonic() < deadline:
        c = hub_cycle_seconds(url)
        if c is not None:
            cycles.append(c)
        page.wait_for_timeout(1000)
    rows = page.evaluate("window.__dom")[1:]  # the first is the page's initial render
    ctx.close()
    to_dom = [(dom - ts * 1000) for ts, dom, _, _ in rows]
    to_frame = [(frame - ts * 1000) for ts, _, frame, _ in rows]
    page_part = [(dom - recv) for _, dom, _, recv in rows if recv is not None]
    return {"updates": len(rows), "cycle_ts_to_dom_ms": summary(to_dom),
            "cycle_ts_to_frame_ms": summary(to_frame), "ws_receive_to_dom_ms": summary(page_part),
            "hub_cycle_duration_ms": summary([c * 1000 for c in cycles])}


def summary(xs: list[float]) -> dict:
    return {"n": len(xs), "p50": pct(xs, 50), "p99": pct(xs, 99), "max": max(xs) if xs else None,
            "mean": statistics.fmean(xs) if xs else None}


def measure_loads(browser, url: str, loads: int) -> dict:
    ready, charts, dcl, load = [], [], [], []
    weight = None
    for i in range(loads):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='1']")
        ready.append(page.evaluate("performance.getEntriesByName('autobot-ready')[0].startTime"))
        nav = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()")
        dcl.append(nav[0])
        load.append(nav[1])
        if i == 0:
            files = page.evaluate("performance.getEntriesByType('resource')"
                                  ".filter(e => e.initiatorType !== 'fetch' && e.initiatorType !== 'xmlhttprequest')"
                                  ".map(e => e.name)")
            weight = page_weight(url, ["/", *[f.replace(url, "") for f in files]])
        page.goto("about:blank")
        page.goto(url + "/#charts")
        page.wait_for_selector("body[data-ready='1']")
        for _ in range(100):
            v = page.evaluate("(performance.getEntriesByName('autobot-charts-loaded')[0] || {}).startTime")
            if v:
                charts.append(v)
                break
            page.wait_for_timeout(50)
        ctx.close()
    return {"loads": loads, "ready_ms": summary(ready), "charts_drawn_ms": summary(charts),
            "dom_content_loaded_ms": summary(dcl), "load_event_ms": summary(load), "weight": weight}


def page_weight(url: str, paths: list[str]) -> dict:
    files = {}
    for p in sorted(set(paths)):
        with urllib.request.urlopen(url + p, timeout=5) as r:  # noqa: S310 - loopback
            body = r.read()
        files[p] = {"bytes": len(body), "gzip_bytes": len(gzip.compress(body, 9))}
    return {"files": files, "total_bytes": sum(f["bytes"] for f in files.values()),
            "total_gzip_bytes": sum(f["gzip_bytes"] for f in files.values())}


async def ws_clients(port: int, n: int, seconds: float) -> dict:
    import websockets

    got: list[list[tuple[float, float]]] = [[] for _ in range(n)]

    async def client(i: int) -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=1 << 22) as ws:
            end = time.time() + seconds
            while time.time() < end:
                try:
                    msg = await asyncio.wait_for(ws.recv(), max(0.1, end - time.time()))
                except TimeoutError:
                    break
                got[i].append((json.loads(msg)["timestamp"], time.time()))

    await asyncio.gather(*(client(i) for i in range(n)))
    # judge the cycles every client was connected for: after the last client's first message
    # (the snapshot on connect) and up to the first client's last one (windows end staggered)
    live = [g for g in got if g]
    lo, hi = max(g[0][0] for g in live), min(g[-1][0] for g in live)
    all_ts = sorted({ts for g in live for ts, _ in g if lo < ts <= hi})
    missed = [len(set(all_ts) - {ts for ts, _ in g}) for g in got]
    lags = [(t - ts) * 1000 for g in got for ts, t in g[1:]]
    return {"clients": n, "cycles_seen": len(all_ts), "clients_missing_any": sum(1 for m in missed if m),
            "max_missed": max(missed) if missed else None, "lag_ms": summary(lags)}


def measure_ws_load(hub_pid: int, port: int, n: int, seconds: float) -> dict:
    idle = CpuMeter({"hub": hub_pid}).start()
    time.sleep(seconds)
    idle.stop()
    busy = CpuMeter({"hub": hub_pid}).start()
    res = asyncio.run(ws_clients(port, n, seconds))
    busy.stop()
    res["hub_cpu_percent_idle"] = 100 * idle.cpu["hub"] / idle.wall
    res["hub_cpu_percent_with_clients"] = 100 * busy.cpu["hub"] / busy.wall
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--updates", type=int, default=60)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--clients", type=int, default=100, help="0 to skip the WebSocket load part")
    ap.add_argument("--ws-seconds", type=float, default=20)
    ap.add_argument("--out", default="dashboard_latency")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    info = machine_info()
    print_machine(info)
    tmp = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    port, svc_port = free_port(), free_port()
    (tmp / "cfg.yaml").write_text(f"monitoring_interval: 1\ndashboard_port: {port}\n"
                                  f"local_host: {{name: bench-hub}}\nservices:\n"
                                  f"  - {{name: web, type: http, url: 'http://127.0.0.1:{svc_port}/'}}\n")
    result: dict = {"machine": info}
    with Procs() as procs:
        procs.start("dash-web", [sys.executable, "-m", "http.server", str(svc_port), "--bind", "127.0.0.1",
                                 "--directory", str(tmp)])
        hub = procs.start("dash-hub", [*agent_command(), "start", "--config", str(tmp / "cfg.yaml"),
                                       "--data-dir", str(tmp / "data")])
        wait_http(port, "/api/system/status", hub, 60)
        time.sleep(3)
        url = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            result["updates"] = measure_updates(browser, url, a.updates)
            result["first_load"] = measure_loads(browser, url, a.loads)
            browser.close()
        if a.clients:
            result["ws_load"] = measure_ws_load(hub.pid, port, a.clients, a.ws_seconds)
    shutil.rmtree(tmp, ignore_errors=True)
    u, fl = result["updates"], result["first_load"]
    rows = [[k, u[k]["n"], u[k]["p50"], u[k]["p99"], u[k]["max"]] for k in
            ("cycle_ts_to_dom_ms", "cycle_ts_to_frame_ms", "ws_receive_to_dom_ms", "hub_cycle_duration_ms")]
    rows += [[k, fl[k]["n"], fl[k]["p50"], fl[k]["p99"], fl[k]["max"]] for k in
             ("ready_ms", "charts_drawn_ms", "dom_content_loaded_ms", "load_event_ms")]
    print(table(rows, ["figure (ms)", "n", "p50", "p99", "max"]))
    w = fl["weight"]
    print(f"page weight: {w['total_bytes']} B raw, {w['total_gzip_bytes']} B gzip -9 "
          f"({len(w['files'])} files)")
    if "ws_load" in result:
        wl = result["ws_load"]
        print(f"{wl['clients']} WS clients, {wl['cycles_seen']} cycles: hub CPU "
              f"{wl['hub_cpu_percent_idle']:.1f}% idle -> {wl['hub_cpu_percent_with_clients']:.1f}% "
              f"of one core; clients missing any update: {wl['clients_missing_any']} "
              f"(max missed {wl['max_missed']}); lag p50 {wl['lag_ms']['p50']:.1f} ms, "
              f"p99 {wl['lag_ms']['p99']:.1f} ms, max {wl['lag_ms']['max']:.1f} ms")
    print(f"written {write_json(a.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
