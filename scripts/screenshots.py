"""Screenshots of the dashboard's views for the README (docs/screenshots/*.png).

Starts, on free loopback ports, an agent, a hub (1 s cycles) that collects its own host, scrapes
the agent, lists a host that is down and checks an HTTP service that answers plus a TCP port
that does not (so the alert and "down" states show), and scrapes ``box-1``, a plain HTTP server
replaying a recorded agent exposition with PSI, clock, failed units, S.M.A.R.T. disks and
containers (tests/fixtures/scrape/host_health.prom; none of those exist on a build machine).
Waits ``--warmup`` seconds for history, then drives Debian's chromium (Playwright) at 1280 px and
at 375 px, and shoots box-1's card (containers table open) at 1400 px and 390 px
(host-health-{desktop,mobile}.png). ``--only host-health`` shoots just those two. Stops
everything it started.

    .venv/bin/python scripts/screenshots.py [--warmup 45] [--out docs/screenshots] [--only host-health]
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = ("overview", "charts", "services", "map", "alerts")
MOBILE = ("overview", "charts", "alerts")
HEALTH_SCRAPE = REPO / "tests" / "fixtures" / "scrape" / "host_health.prom"
HEALTH_CARD = '.host-card[data-host="box-1"]'


def replay_target(text: str) -> http.server.ThreadingHTTPServer:
    """A loopback HTTP server answering ``/metrics`` with ``text`` (stopped with shutdown())."""
    body = text.encode()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def shoot_host_health(browser, url: str, out: Path) -> list[Path]:
    """box-1's card with its containers table open, at 1400 px and 390 px wide."""
    paths = []
    for label, width, height in (("desktop", 1400, 900), ("mobile", 390, 844)):
        ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        page = ctx.new_page()
        page.goto(f"{url}/#overview")
        page.wait_for_selector("body[data-ready='1']")
        page.click(f"{HEALTH_CARD} details.containers summary")
        page.wait_for_selector(f"{HEALTH_CARD} details.containers[open] tbody tr")
        page.wait_for_timeout(1500)  # a live update or two, as a reader would see it
        path = out / f"host-health-{label}.png"
        # the cards are rebuilt on every live update: clip the page to the card's box
        page.evaluate("scrollTo(0, 0)")
        box = page.evaluate(f"""(() => {{ const r = document.querySelector('{HEALTH_CARD}')
          .getBoundingClientRect(); return {{x: Math.max(0, r.x + scrollX - 4),
          y: Math.max(0, r.y + scrollY - 4), width: r.width + 8, height: r.height + 8}}; }})()""")
        page.screenshot(path=str(path), full_page=True, clip=box)
        paths.append(path)
        ctx.close()
    return paths


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warmup", type=float, default=45, help="seconds of history before shooting")
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    ap.add_argument("--only", choices=("host-health",), help="shoot only these pictures")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="autobot-shots-"))
    hub_port, agent_port, web_port, dead_port, closed_port = (free_port() for _ in range(5))
    (tmp / "www").mkdir()
    target = replay_target(HEALTH_SCRAPE.read_text())
    (tmp / "cfg.yaml").write_text(f"""
monitoring_interval: 1
dashboard_port: {hub_port}
local_host: {{name: hub-1, role: hub}}
hosts:
  - {{name: worker-1, address: "127.0.0.1:{agent_port}", role: worker, priority: high}}
  - {{name: edge-2, address: "127.0.0.1:{dead_port}", role: edge, priority: low}}
  - {{name: box-1, address: "127.0.0.1:{target.server_address[1]}", role: worker}}
services:
  - {{name: web-frontend, type: http, url: "http://127.0.0.1:{web_port}/", host: hub-1}}
  - {{name: backend-api, type: tcp, address: "127.0.0.1:{closed_port}", timeout: 1, host: worker-1}}
""")
    cli = [sys.executable, "-m", "autobot_monitor.cli"]
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "http.server", str(web_port), "--bind",
                                       "127.0.0.1", "--directory", str(tmp / "www")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([*cli, "agent", "--listen", f"127.0.0.1:{agent_port}", "--interval", "1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([*cli, "start", "--config", str(tmp / "cfg.yaml"), "--data-dir",
                                       str(tmp / "data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{hub_port}"
        wait_ok(url + "/healthz")
        print(f"hub on {url}; {a.warmup:.0f} s of history first", flush=True)
        time.sleep(a.warmup)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            shots = () if a.only else (("desktop", 1280, DESKTOP, True), ("mobile", 375, MOBILE, False))
            for path in shoot_host_health(browser, url, out):
                print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            for label, width, views, full in shots:
                ctx = browser.new_context(viewport={"width": width, "height": 812 if width < 600 else 900},
                                          device_scale_factor=1)
                page = ctx.new_page()
                for view in views:
                    page.goto(f"{url}/#{view}")
                    page.wait_for_selector("body[data-ready='1']")
                    if view == "charts":
                        page.wait_for_selector("#chart-cpu[data-points]")
                    page.wait_for_timeout(1500)
                    path = out / f"{view}-{label}.png"
                    page.screenshot(path=str(path), full_page=full)
                    print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                ctx.close()
            browser.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        target.shutdown()
        target.server_close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
