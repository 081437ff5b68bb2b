"""Screenshots of the dashboard's views for the README (docs/screenshots/*.png).

Starts, on free loopback ports, an agent, a hub (1 s cycles) that collects its own host, scrapes
the agent, lists a host that is down and checks an HTTP service that answers plus a TCP port
that does not (so the alert and "down" states show), waits ``--warmup`` seconds for history, then
drives Debian's chromium (Playwright) at 1280 px and at 375 px. Stops everything it started.

    .venv/bin/python scripts/screenshots.py [--warmup 45] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = ("overview", "charts", "services", "map", "alerts")
MOBILE = ("overview", "charts", "alerts")


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
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="autobot-shots-"))
    hub_port, agent_port, web_port, dead_port, closed_port = (free_port() for _ in range(5))
    (tmp / "www").mkdir()
    (tmp / "cfg.yaml").write_text(f"""
monitoring_interval: 1
dashboard_port: {hub_port}
local_host: {{name: hub-1, role: hub}}
hosts:
  - {{name: worker-1, address: "127.0.0.1:{agent_port}", role: worker, priority: high}}
  - {{name: edge-2, address: "127.0.0.1:{dead_port}", role: edge, priority: low}}
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
            for label, width, views, full in (("desktop", 1280, DESKTOP, True), ("mobile", 375, MOBILE, False)):
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
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
