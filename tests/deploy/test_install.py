"""scripts/install.sh into a temporary root: a working hub, idempotent re-runs, edited configs kept,
--dry-run changing nothing, --uninstall keeping config and data.

The venv + pip install happens once for the module (pip uses its normal cache); the tests then run
in file order on that one install, the uninstall tests last.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import free_port, wait_http, wait_until

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install.sh"
SHIPPED_CONF = REPO / "deploy" / "config" / "monitoring_config.yaml"

pytestmark = pytest.mark.timeout(300)


def run_install(*args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), "--python", python, *args], capture_output=True,
                          text=True, timeout=280)


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """``{relative path: (kind, mode, size, mtime_ns, sha256 or link target)}`` for the tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir.startswith(skip):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            if p.is_symlink():
                out[str(p.relative_to(root))] = ("link", os.readlink(p))
            elif p.is_dir():
                out[str(p.relative_to(root))] = ("dir", st.st_mode)
            else:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                out[str(p.relative_to(root))] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out


class Layout:
    def __init__(self, root: Path):
        self.root = root
        self.opt = root / "opt/autobot-monitor"
        self.venv = self.opt / "venv"
        self.bin = self.venv / "bin/autobot-monitor"
        self.etc = root / "etc/autobot-monitor"
        self.conf = self.etc / "monitoring_config.yaml"
        self.data = root / "var/lib/autobot-monitor"
        self.units = root / "etc/systemd/system"
        self.logrotate = root / "etc/logrotate.d/autobot-monitor"
        self.nginx_site = root / "etc/nginx/sites-available/autobot-monitor.conf"
        self.nginx_link = root / "etc/nginx/sites-enabled/autobot-monitor.conf"


@pytest.fixture(scope="module")
def inst(tmp_path_factory) -> Layout:
    lay = Layout(tmp_path_factory.mktemp("prefix") / "root")
    r = run_install("--prefix", str(lay.root), "--with-nginx")
    assert r.returncode == 0, r.stdout + r.stderr
    return lay


def test_install_lays_out_every_artifact(inst: Layout):
    assert inst.bin.is_file() and os.access(inst.bin, os.X_OK)
    assert inst.conf.read_bytes() == SHIPPED_CONF.read_bytes()
    for unit in ("autobot-monitor-hub.service", "autobot-monitor-agent.service"):
        text = (inst.units / unit).read_text()
        # paths inside point into the prefix, and nothing still names the system locations
        assert f"ExecStart={inst.bin} " in text
        assert " /opt/" not in text and "=/var/lib/" not in text and " /etc/autobot" not in text
    hub = (inst.units / "autobot-monitor-hub.service").read_text()
    assert f"ReadWritePaths={inst.data}" in hub and f"--data-dir {inst.data}" in hub
    assert f"{inst.data}/logs/*.out" in inst.logrotate.read_text()
    assert os.readlink(inst.nginx_link) == "../sites-available/autobot-monitor.conf"
    assert inst.nginx_site.is_file() and (inst.data / "logs").is_dir()
    # the wheel pip built carries the dashboard's static assets
    static = REPO / "src/autobot_monitor/web/static"
    if static.is_dir():
        site = next(inst.venv.glob("lib/python3*/site-packages/autobot_monitor"))
        shipped = {p.relative_to(static) for p in static.rglob("*") if p.is_file()}
        installed = {p.relative_to(site / "web/static") for p in (site / "web/static").rglob("*")
                     if p.is_file()}
        assert shipped <= installed, shipped - installed
        # a copy, not an editable link back to the source tree
        assert not list(inst.venv.glob("lib/python3*/site-packages/__editable__*"))


def test_installed_hub_starts_serves_and_reloads(inst: Layout):
    port = free_port()
    log = open(inst.root / "hub.out", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(inst.bin), "start", "--config", str(inst.conf), "--port", str(port),
                             "--data-dir", str(inst.data)], stdout=log, stderr=subprocess.STDOUT,
                            cwd=inst.root)
    try:
        r = wait_http(f"http://127.0.0.1:{port}/healthz", 60, lambda r: r.json().get("last_cycle"))
        assert r.json()["status"] == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "node_load1{" in metrics and 'host="' in metrics
        main_log = inst.data / "logs" / "monitoring_control.log"
        wait_until(main_log.exists, 10, what="hub log in the installed data dir")
        # what the unit's ExecReload sends
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in main_log.read_text(), 15, what="reload log line")
        assert proc.poll() is None
    finally:
        stop = subprocess.run([str(inst.bin), "stop", "--data-dir", str(inst.data)],
                              capture_output=True, text=True, timeout=30)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        log.close()
    assert stop.returncode == 0, stop.stderr
    assert not (inst.data / "hub.pid").exists()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_installed_units_pass_systemd_analyze_verify(inst: Layout):
    units = [str(inst.units / f"autobot-monitor-{u}.service") for u in ("hub", "agent")]
    r = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_rerun_is_idempotent(inst: Layout):
    before = snapshot(inst.root, skip=("opt/autobot-monitor/venv", "var/lib/autobot-monitor"))
    r = run_install("--prefix", str(inst.root), "--with-nginx")
    assert r.returncode == 0, r.stdout + r.stderr
    assert snapshot(inst.root, skip=("opt/autobot-monitor/venv", "var/lib/autobot-monitor")) == before
    assert "is the shipped default: unchanged" in r.stdout
    assert r.stdout.count("is up to date") == 4  # two units, logrotate, nginx site
    assert "venv exists" in r.stdout and " venv --clear " not in r.stdout


def test_edited_config_is_never_overwritten(inst: Layout):
    edited = inst.conf.read_text().replace("monitoring_interval: 10", "monitoring_interval: 7")
    assert edited != inst.conf.read_text()
    inst.conf.write_text(edited)
    r = run_install("--prefix", str(inst.root))
    assert r.returncode == 0, r.stdout + r.stderr
    assert inst.conf.read_text() == edited
    dist = inst.conf.with_name("monitoring_config.yaml.dist")
    assert dist.read_bytes() == SHIPPED_CONF.read_bytes()
    assert "was edited: keeping it" in r.stdout
    mtime = dist.stat().st_mtime_ns
    r = run_install("--prefix", str(inst.root))
    assert r.returncode == 0 and inst.conf.read_text() == edited
    assert dist.stat().st_mtime_ns == mtime  # the .dist is not rewritten either


def test_unedited_older_default_is_upgraded(inst: Layout):
    old_default = "# an older shipped default\nmonitoring_interval: 20\n"
    (inst.opt / "share/monitoring_config.yaml").write_text(old_default)
    inst.conf.write_text(old_default)
    r = run_install("--prefix", str(inst.root))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "older shipped default, never edited" in r.stdout
    assert inst.conf.read_bytes() == SHIPPED_CONF.read_bytes()
    assert not inst.conf.with_name("monitoring_config.yaml.dist").exists()


def test_dry_run_changes_nothing(inst: Layout, tmp_path: Path):
    before = snapshot(inst.root)
    r = run_install("--prefix", str(inst.root), "--with-nginx", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert snapshot(inst.root) == before
    fresh = tmp_path / "fresh"
    r = run_install("--prefix", str(fresh), "--with-nginx", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert not fresh.exists()
    # every step is printed
    for step in (" venv --clear ", "pip install", "monitoring_config.yaml", "autobot-monitor-hub.service",
                 "autobot-monitor-agent.service", "logrotate.d/autobot-monitor", "ln -sfn",
                 "check-config"):
        assert step in r.stdout, step
    r = run_install("--prefix", str(inst.root), "--uninstall", "--dry-run")
    assert r.returncode == 0 and snapshot(inst.root) == before
    assert "rm -rf" in r.stdout


@pytest.mark.parametrize("fake, message", [
    ('case "$2" in *version_info*) exit 1;; esac; echo "Python 3.9.2"', "too old"),
    ('case "$2" in *venv*) exit 1;; esac; echo "Python 3.12.1"', "lacks the venv module"),
])
def test_requirements_are_checked(tmp_path: Path, fake: str, message: str):
    py = tmp_path / "python3"
    py.write_text(f"#!/bin/sh\n{fake}\n")
    py.chmod(0o755)
    r = run_install("--prefix", str(tmp_path / "root"), python=str(py))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "root").exists()


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed")
def test_install_script_passes_shellcheck():
    r = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_bad_usage_is_refused(tmp_path: Path):
    r = run_install("--prefix", str(tmp_path / "r"), "--purge")
    assert r.returncode == 2 and "--purge only goes with --uninstall" in r.stderr
    r = run_install("--prefix", str(tmp_path / "r"), "--enable", "dashboard")
    assert r.returncode == 2 and "hub or agent" in r.stderr


def test_uninstall_keeps_config_and_data_then_purge_removes_them(inst: Layout):
    (inst.data / "marker").write_text("history")
    r = run_install("--prefix", str(inst.root), "--uninstall")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not inst.opt.exists()
    assert not (inst.units / "autobot-monitor-hub.service").exists()
    assert not (inst.units / "autobot-monitor-agent.service").exists()
    assert not inst.logrotate.exists() and not inst.nginx_site.exists()
    assert not os.path.lexists(inst.nginx_link)
    assert inst.conf.is_file() and (inst.data / "marker").read_text() == "history"
    r = run_install("--prefix", str(inst.root), "--uninstall")  # again: nothing left to do
    assert r.returncode == 0, r.stderr
    r = run_install("--prefix", str(inst.root), "--uninstall", "--purge")
    assert r.returncode == 0, r.stderr
    assert not inst.etc.exists() and not inst.data.exists()
