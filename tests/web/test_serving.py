"""The hub's serving path under load (issue 16.10): snapshot reads answered without FastAPI's
routing, and log files written in batches from bounded queues that drop (and count) rather
than block or grow."""

from __future__ import annotations

import hashlib
import json
import logging
import queue

import httpx
import pytest

from autobot_monitor.logs import BatchFileHandler, BatchListener, DroppingQueueHandler
from support import HubProcess, wait_until

VIEWER = "viewer-token-serving-5e1d"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubProcess(tmp_path_factory.mktemp("serving"), {"auth": {"tokens": [
            {"name": "bob", "role": "viewer",
             "token_sha256": hashlib.sha256(VIEWER.encode()).hexdigest()}]}}) as hub:
        hub.wait_http("/healthz", lambda r: r.json().get("last_cycle"))
        yield hub.url, hub.data


def test_snapshot_reads_answer_like_their_documented_routes(hub):
    url, data = hub
    auth = {"Authorization": f"Bearer {VIEWER}"}
    assert httpx.get(url + "/api/metrics/current", timeout=10).status_code == 401
    for path, ctype in (("/api/metrics/current", "application/json"),
                        ("/api/system/status", "application/json"),
                        ("/metrics", "text/plain"), ("/api/monitoring/metrics", "text/plain")):
        fast = httpx.get(url + path, headers=auth, timeout=10)
        routed = httpx.get(url + path + "?unused=1", headers=auth, timeout=10)  # FastAPI route
        assert fast.status_code == routed.status_code == 200, path
        assert fast.headers["content-type"] == routed.headers["content-type"], path
        assert fast.headers["content-type"].startswith(ctype)
        assert fast.headers["x-content-type-options"] == "nosniff"
        assert "server" not in fast.headers
        if ctype == "application/json":
            assert fast.json().keys() == routed.json().keys()
    assert httpx.get(url + "/healthz", timeout=10).json()["log_records_dropped"] == 0
    full = httpx.get(url + "/api/metrics/current?full=true", headers=auth, timeout=10)
    assert full.status_code == 200 and full.json()
    paths = httpx.get(url + "/openapi.json", headers=auth, timeout=10).json()["paths"]
    assert {"/api/metrics/current", "/api/system/status", "/metrics"} <= paths.keys()
    # the fast path still passes the access log: one line, who = the token's name
    log = data / "logs" / "access.log"

    def logged():
        lines = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
        return [x for x in lines if x["path"] == "/api/system/status" and x["who"] == "bob"]
    wait_until(logged, timeout=30)
    assert logged()[0]["status"] == 200


def test_full_log_queue_drops_and_counts_without_blocking(capsys):
    q: queue.Queue = queue.Queue(maxsize=2)  # no listener: nothing drains it
    h = DroppingQueueHandler(q)
    lg = logging.getLogger("autobot_monitor.test_serving.drop")
    lg.propagate, lg.handlers[:] = False, [h]
    for i in range(5):
        lg.warning("line %d", i)
    assert q.qsize() == 2 and h.dropped == 3
    assert "Traceback" not in capsys.readouterr().err


def test_batch_file_handler_rotates_within_max_bytes_and_loses_nothing(tmp_path):
    path = tmp_path / "access.log"
    h = BatchFileHandler(str(path), max_bytes=1000, backup_count=50)
    h.setFormatter(logging.Formatter("%(message)s"))
    q: queue.Queue = queue.Queue(maxsize=10_000)
    listener = BatchListener(q, h)
    listener.start()
    lg = logging.getLogger("autobot_monitor.test_serving.batch")
    lg.propagate, lg.handlers[:] = False, [DroppingQueueHandler(q)]
    lines = [f'{{"n":{i},"path":"/api/metrics/current","é":"ü"}}' for i in range(300)]
    for line in lines:
        lg.warning(line)
    # flushed once the queue is drained, without stopping the listener
    wait_until(lambda: path.exists() and lines[-1] in path.read_text(encoding="utf-8"), timeout=30)
    listener.stop()
    h.close()
    files = sorted(tmp_path.glob("access.log*"), key=lambda p: -int(p.suffix[1:] or 0)
                   if p.suffix[1:].isdigit() else 0)
    assert all(p.stat().st_size <= 1000 for p in files)
    written = [x for p in files for x in p.read_text(encoding="utf-8").splitlines()]
    assert written == lines


def _raw(url: str, payload: bytes, until: bytes, count: int) -> bytes:
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(payload)
        got = b""
        while got.count(until) < count:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got


def test_corked_writes_keep_pipelined_answers_whole_and_in_order(hub):
    """Each answer leaves in one write (web/serving.py); pipelined requests still get complete
    answers in order, and a HEAD answer (headers only, no body write) is not held back."""
    url, _ = hub
    auth = f"Authorization: Bearer {VIEWER}\r\nHost: 127.0.0.1\r\n".encode()
    req = b"GET %s HTTP/1.1\r\n" + auth + b"\r\n"
    got = _raw(url, (req % b"/healthz") + (req % b"/api/system/status") + (req % b"/healthz"),
               b"HTTP/1.1 ", 3)
    answers = got.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == 3 and all(a.startswith(b"200 ") for a in answers)
    assert b'"status":"ok"' in answers[0] and b'"status":"ok"' in answers[2]
    assert b'"cycles"' in answers[1]
    head = _raw(url, b"HEAD /healthz HTTP/1.1\r\n" + auth + b"\r\n", b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 ") and head.endswith(b"\r\n\r\n")
