"""Clean failures (real processes, real sockets): an oversized request head is refused with 431
before the application runs, HEAD is answered wherever GET is, every start-up failure is one line
and an exit code (no traceback), and a log file that cannot be written (a full disk: /dev/full)
is reported once per state change, not with a traceback per record."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

import httpx
import pytest

from autobot_monitor.logguard import GuardedRotatingFileHandler
from support import HubProcess, free_port


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    d = tmp_path_factory.mktemp("hub")
    with HubProcess(d, {"monitoring_interval": 5}) as hub:
        hub.wait_http("/healthz", timeout=90)
        yield {"port": hub.port, "dir": d, "config": hub.cfg}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autobot_monitor.cli", *args],
                          capture_output=True, text=True, timeout=120)


def assert_one_line_failure(r: subprocess.CompletedProcess, code: int, *words: str) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("autobot-monitor:")]
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr and len(lines) == 1, r.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_oversized_request_head_is_refused_with_431(hub):
    with socket.create_connection(("127.0.0.1", hub["port"]), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        for _ in range(640):  # up to 40 MB; the server closes well before
            try:
                s.sendall(chunk)
            except OSError:
                break
        answer = b""
        try:
            while len(answer) < 4096:
                got = s.recv(4096)
                if not got:
                    break
                answer += got
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # an ordinary request on a new connection is still served
    r = httpx.get(f"http://127.0.0.1:{hub['port']}/healthz", headers={"X-Small": "a" * 8000})
    assert r.status_code == 200
    # a large body is not a large head: the limit counts the head only
    r = httpx.post(f"http://127.0.0.1:{hub['port']}/api/silences", content=b"{" + b" " * 300_000)
    assert r.status_code != 431


def test_head_is_answered_where_get_is(hub):
    base = f"http://127.0.0.1:{hub['port']}"
    for path in ("/healthz", "/api/metrics/current"):
        get = httpx.get(base + path)
        head = httpx.head(base + path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    assert httpx.head(base + "/no/such/page").status_code == 404


def test_second_hub_on_the_same_data_dir_without_pid_file_is_one_line(hub):
    (hub["dir"] / "data" / "hub.pid").unlink()
    r = run_cli("start", "--config", str(hub["config"]), "--port", str(free_port()),
                "--data-dir", str(hub["dir"] / "data"))
    assert_one_line_failure(r, 1, "in use")


def test_unusable_data_dir_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("")
    r = run_cli("start", "--port", str(free_port()), "--data-dir", str(tmp_path / "afile" / "data"))
    assert_one_line_failure(r, 1, "data directory", "Not a directory")


def test_agent_with_unusable_tls_key_is_one_line(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    r = run_cli("agent", "--listen", f"127.0.0.1:{free_port()}", "--tls-cert", str(bad),
                "--tls-key", str(bad), "--log-level", "WARNING")
    assert_one_line_failure(r, 1, "TLS")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_one_line_per_state_change(tmp_path, capfd):
    h = GuardedRotatingFileHandler("/dev/full", maxBytes=1 << 20, backupCount=1)
    log = logging.getLogger("test.diskfull")
    log.propagate, log.handlers = False, [h]
    try:
        for i in range(20):
            log.warning("record %d", i)
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert "cannot write log /dev/full: No space left on device" in err and h.failing
        h.baseFilename = str(tmp_path / "m.log")  # space is back: the next record reopens
        log.warning("after")
        err = capfd.readouterr().err
        assert err.strip() == (f"autobot-monitor: log {tmp_path / 'm.log'} writable again, "
                               "20 record(s) dropped")
        assert (tmp_path / "m.log").read_text() == "after\n"
    finally:
        log.handlers = []
        h.close()
