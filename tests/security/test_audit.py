"""Hash-chained alerts log and ``verify-log`` (issue 9)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import subprocess
import sys

from autobot_monitor.hashchain import GENESIS, ChainFormatter, verify_files

CLI = [sys.executable, "-m", "autobot_monitor.cli"]


def _write(path, records, max_bytes=0, backups=0):
    h = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups)
    h.setFormatter(ChainFormatter(str(path)))
    lg = logging.getLogger(f"test.audit.{path}")
    lg.propagate = False
    lg.handlers[:] = [h]
    lg.setLevel(logging.INFO)
    for r in records:
        lg.info(json.dumps(r, separators=(",", ":")))
    h.close()


def _verify(*paths):
    return subprocess.run([*CLI, "verify-log", *map(str, paths)], capture_output=True, text=True,
                          timeout=30)


def test_chain_detects_edit_removal_and_reorder(tmp_path):
    p = tmp_path / "alerts.log"
    _write(p, [{"n": i, "status": "firing", "rule": "R"} for i in range(10)])
    lines = p.read_text().splitlines()
    assert json.loads(lines[0])["prev"] == GENESIS
    assert all(json.loads(b)["prev"] == json.loads(a)["hash"] for a, b in zip(lines, lines[1:], strict=False))
    r = _verify(p)
    assert r.returncode == 0 and "10 record(s)" in r.stdout

    edited = lines.copy()
    edited[4] = edited[4].replace('"firing"', '"resolved"')
    p.write_text("\n".join(edited) + "\n")
    r = _verify(p)
    assert r.returncode == 1 and r.stdout.startswith(f"{p}:5: record was modified")

    p.write_text("\n".join(lines[:3] + lines[4:]) + "\n")  # one removed
    r = _verify(p)
    assert r.returncode == 1 and f"{p}:4: chain broken" in r.stdout

    p.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")
    assert _verify(p).returncode == 1


def test_chain_continues_across_restart_and_rotation(tmp_path):
    p = tmp_path / "alerts.log"
    _write(p, [{"n": i, "pad": "x" * 200} for i in range(5)], max_bytes=1000, backups=50)
    _write(p, [{"n": i, "pad": "x" * 200} for i in range(5, 12)], max_bytes=1000, backups=50)  # restart
    files = sorted(tmp_path.glob("alerts.log.*"), key=lambda f: -int(f.suffix[1:])) + [p]
    assert len(files) > 2
    res = verify_files([str(f) for f in files])
    assert res.broken is None and res.records == 12 and res.first_prev == GENESIS
    assert _verify(*files).returncode == 0
    assert _verify(files[-1]).returncode == 0  # alone: anchored on the rotated-away hash
    assert _verify(*files[::-1]).returncode == 1  # wrong order


def test_live_hub_chains_its_alerts_log(auth_hub):
    from support import wait_until

    log = auth_hub.data / "logs" / "alerts.log"
    wait_until(lambda: log.exists() and "AlwaysFires" in log.read_text(), 30, 0.2, "alerts.log")
    assert _verify(log).returncode == 0
    assert "AlwaysFires" not in (auth_hub.data / "logs" / "monitoring_control.log").read_text()
