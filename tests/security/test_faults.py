"""Fault injection against real hub processes (issue 9): the hub keeps serving (``/healthz``
200, ``/api/metrics/current`` 200, cycles advancing) while Redis dies and comes back, while its
collectors raise, and while its store is full."""

from __future__ import annotations

import subprocess
import time

from secsupport import Hub

from support import REDIS_SERVER, RedisServer, wait_until


def _serving(hub, cycles_from: int, more: int = 2) -> dict:
    """Wait for ``more`` further cycles; assert the hub answered throughout; return current."""
    wait_until(lambda: hub.get("/api/system/status", None).json()["cycles"] >= cycles_from + more,
               30, 0.1, "cycles to advance")
    assert hub.get("/healthz", None).status_code == 200
    r = hub.get("/api/metrics/current", None)
    assert r.status_code == 200
    return r.json()


def _cycles(hub) -> int:
    return hub.get("/api/system/status", None).json()["cycles"]


def test_redis_killed_and_restarted(tmp_path):
    redis = RedisServer()
    hub = Hub(tmp_path, f"""
services:
  - {{name: cache, type: redis, address: "{redis.address}", timeout: 1}}
storage: {{redis: {{address: "{redis.address}", timeout: 1}}}}
""")
    try:
        hub.wait_cycles(2, token=None)
        assert _serving(hub, _cycles(hub), 1)["services"]["cache"]["up"] is True
        redis.proc.kill()
        redis.proc.wait(10)
        t_kill = time.monotonic()
        cur = _serving(hub, _cycles(hub))
        assert cur["services"]["cache"]["up"] is False
        # the same port again: the check and the mirror recover on their own
        redis.proc = subprocess.Popen([REDIS_SERVER, "--port", str(redis.port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", redis.dir],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_start = time.monotonic()
        wait_until(lambda: hub.get("/api/metrics/current", None).json()["services"]["cache"]["up"],
                   30, 0.1, "redis check up again")
        print(f"redis down {t_start - t_kill:.1f} s; check up again {time.monotonic() - t_start:.1f} s "
              "after restart")
        import redis as redis_py

        r = redis_py.Redis(port=redis.port)
        wait_until(lambda: r.xlen("autobot:monitor:history") > 0, 30, 0.2, "mirror resumed")
        assert hub.poll() is None
    finally:
        hub.stop()
        redis.stop()


def test_collectors_that_raise(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    hub = Hub(tmp_path, f"collectors: {{procfs: '{empty}', sysfs: '{empty}', rootfs: '{empty}'}}\n")
    try:
        hub.wait_cycles(2, token=None)
        _serving(hub, _cycles(hub))
        text = hub.get("/metrics", None).text
        failed = [ln for ln in text.splitlines()
                  if ln.startswith("autobot_scrape_collector_success") and ln.endswith(" 0.0")]
        assert len(failed) >= 3, text[:2000]
    finally:
        assert hub.stop() == 0


def test_disk_full(tmp_path):
    """The data directory's disk fills up: simulated with RLIMIT_FSIZE = 1 byte on the running
    hub (every write past the first byte of any file fails with EFBIG, as with ENOSPC; Python
    ignores SIGXFSZ), so the store's WAL, its flushes and the log files all fail."""
    import psutil

    hub = Hub(tmp_path, "")
    try:
        hub.wait_cycles(2, token=None)
        psutil.Process(hub.pid).rlimit(psutil.RLIMIT_FSIZE, (1, 1))

        def store_errors() -> float:
            for ln in hub.get("/metrics", None).text.splitlines():
                if ln.startswith("autobot_hub_store_errors_total"):
                    return float(ln.split()[-1])
            return 0.0
        wait_until(lambda: store_errors() > 0, 30, 0.2, "store refusing writes")
        cur = _serving(hub, _cycles(hub))
        assert cur["hosts"]  # figures still collected and served from memory
        hist = hub.get("/api/metrics/history?metric=autobot_cpu_busy_percent&start=now-5m", None)
        assert hist.status_code in (200, 503)  # older data readable, or a clear 503
    finally:
        assert hub.stop() == 0
