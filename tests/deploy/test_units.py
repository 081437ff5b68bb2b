"""deploy/systemd, deploy/logrotate and deploy/nginx checked by their own tools: systemd-analyze
verify and security, a real logrotate run, nginx -t, and a real nginx proxying a real hub
(HTTP and the /ws WebSocket upgrade)."""

from __future__ import annotations

import asyncio
import configparser
import grp
import json
import os
import pwd
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest
import websockets
from deploy_support import DEPLOY, REPO, tool

from autobot_monitor.cli import build_parser
from support import free_port, wait_until

UNITS = {u: DEPLOY / "systemd" / f"autobot-monitor-{u}.service" for u in ("hub", "agent")}
SYSTEMD_ANALYZE = tool("systemd-analyze")
NGINX = tool("nginx")
LOGROTATE = tool("logrotate")


def unit_sections(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # keys are case-sensitive
    cp.read(path)
    return cp


def render_units(tmp: Path) -> list[Path]:
    """The units with ExecStart pointing at this checkout's autobot-monitor (verify insists that
    the binary exists), written to ``tmp``."""
    bindir = tmp / "opt/autobot-monitor/venv/bin"
    bindir.mkdir(parents=True)
    (bindir / "autobot-monitor").symlink_to(REPO / ".venv/bin/autobot-monitor")
    out = []
    for path in UNITS.values():
        dest = tmp / path.name
        dest.write_text(path.read_text().replace("/opt/autobot-monitor", str(tmp / "opt/autobot-monitor")))
        out.append(dest)
    return out


@pytest.mark.parametrize("name", list(UNITS))
def test_units_are_hardened_and_restart(name: str):
    svc = unit_sections(UNITS[name])["Service"]
    assert svc["User"] == svc["Group"] == "autobot-monitor"
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "true", "PrivateTmp": "true",
                       "Restart": "on-failure", "CapabilityBoundingSet": ""}.items():
        assert svc[key] == value, key
    assert svc["ProtectHome"] in ("true", "read-only")
    assert svc["RestartSec"]
    if name == "hub":
        assert svc["ReadWritePaths"] == "/var/lib/autobot-monitor"
        assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
        assert "--data-dir /var/lib/autobot-monitor" in svc["ExecStart"]


@pytest.mark.parametrize("name", list(UNITS))
def test_unit_execstart_is_accepted_by_the_cli(name: str):
    svc = unit_sections(UNITS[name])["Service"]
    argv = shlex.split(svc["ExecStart"])
    assert argv[0] == "/opt/autobot-monitor/venv/bin/autobot-monitor"
    env = dict(shlex.split(e)[0].split("=", 1) for e in [svc.get("Environment", "")] if e)
    args = []
    for a in argv[1:]:  # systemd splits an unquoted $VAR into words
        args += env[a[1:]].split() if a.startswith("$") else [a]
    ns = build_parser().parse_args(args)
    assert ns.command == {"hub": "start", "agent": "agent"}[name]


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify_and_security(tmp_path: Path):
    units = render_units(tmp_path)
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", *map(str, units)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    for u in units:  # exposure below 4.5 ("OK" band) on systemd's own scale
        r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=45", str(u)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="systemd-analyze not installed")
def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path):
    unit = render_units(tmp_path)[0]
    unit.write_text(unit.read_text().replace("ProtectSystem=", "ProtectSytem="))
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Unknown key" in r.stderr


@pytest.mark.skipif(not LOGROTATE, reason="logrotate not installed")
def test_logrotate_rotates_only_what_the_hub_does_not(tmp_path: Path):
    logs = tmp_path / "logs"
    (logs / "performance").mkdir(parents=True)
    (logs / "hub.out").write_text("redirected output\n" * 100)
    (logs / "monitoring_control.log").write_text("the hub's own log\n" * 100)
    (logs / "performance" / "metrics.jsonl").write_text("{}\n" * 100)
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    conf = tmp_path / "autobot-monitor"
    conf.write_text((DEPLOY / "logrotate/autobot-monitor").read_text()
                    .replace("/var/lib/autobot-monitor", str(tmp_path))
                    .replace("su autobot-monitor autobot-monitor", f"su {user} {group}"))
    conf.chmod(0o644)
    r = subprocess.run([LOGROTATE, "--force", "--verbose", "--state", str(tmp_path / "state"), str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "error" not in r.stderr.lower(), r.stderr
    assert (logs / "hub.out.1").read_text().startswith("redirected output")
    assert (logs / "hub.out").read_text() == ""  # copytruncate: the writer's fd stays valid
    assert (logs / "monitoring_control.log").read_text().startswith("the hub's own log")
    assert sorted(p.name for p in logs.iterdir()) == ["hub.out", "hub.out.1", "monitoring_control.log",
                                                      "performance"]


def nginx_prefix(tmp: Path, site: str) -> Path:
    """A minimal nginx main config in ``tmp`` that includes ``site`` the way sites-enabled does."""
    for d in ("body", "proxy", "logs"):
        (tmp / d).mkdir(exist_ok=True)
    (tmp / "site.conf").write_text(site)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    include {tmp}/site.conf;
}}
""")
    return conf


@pytest.mark.skipif(not NGINX, reason="nginx not installed (scripts/ensure-test-tools.sh installs it)")
def test_nginx_site_passes_nginx_t(tmp_path: Path):
    conf = nginx_prefix(tmp_path, (DEPLOY / "nginx/autobot-monitor.conf").read_text())
    r = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "test is successful" in r.stderr, r.stderr
    bad = nginx_prefix(tmp_path, (DEPLOY / "nginx/autobot-monitor.conf").read_text()
                       .replace("proxy_http_version 1.1;", "proxy_http_version 1.1", 1))
    r = subprocess.run([NGINX, "-t", "-c", str(bad), "-p", str(tmp_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0


@pytest.mark.skipif(not NGINX, reason="nginx not installed (scripts/ensure-test-tools.sh installs it)")
def test_nginx_proxies_the_dashboard_and_the_websocket(tmp_path: Path, live_hub):
    port = free_port()
    site = ((DEPLOY / "nginx/autobot-monitor.conf").read_text()
            .replace("server 127.0.0.1:9090;", f"server 127.0.0.1:{live_hub['port']};")
            .replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", ""))
    conf = nginx_prefix(tmp_path, site)
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        r = wait_until(lambda: httpx.get(base + "/healthz", timeout=2), 20, what="nginx up")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert httpx.get(base + "/api/system/status", timeout=5).status_code == 200

        async def one_update() -> dict:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 15))

        msg = asyncio.run(one_update())
        assert msg["type"] == "metrics_update" and msg["data"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert b"[emerg]" not in err, err
