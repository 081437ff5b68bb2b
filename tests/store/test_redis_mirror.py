"""The Redis history mirror against a real redis-server that is stopped and started again."""

import json
import subprocess

import pytest
import redis

from autobot_monitor.config.models import RedisMirrorConfig
from autobot_monitor.store import Series, TieredStore
from autobot_monitor.store.redis_mirror import MirroredStore
from support import REDIS_SERVER, RedisServer, wait_until

pytestmark = pytest.mark.timeout(60)
T0 = 1_700_000_400.0


def cycle(store, k):
    store.write([Series("g", {"host": "a"}, [(T0 + k, float(k))], "gauge"),
                 Series("c_total", {}, [(T0 + k, float("nan") if k == 0 else k)], "counter")])


def test_mirror_buffers_while_redis_is_down_and_replays_the_bounded_backlog(tmp_path, caplog):
    srv = RedisServer()
    cfg = RedisMirrorConfig(address=srv.address, stream_maxlen=10, backlog_max=5, timeout=0.5)
    store = MirroredStore(TieredStore(str(tmp_path / "m.db")), cfg)
    r = redis.Redis(host="127.0.0.1", port=srv.port, decode_responses=True)
    restarted = None
    try:
        for k in range(3):
            cycle(store, k)
        wait_until(lambda: r.xlen("autobot:monitor:history") == 3, 10, what="3 stream entries")
        latest = json.loads(r.get("autobot:monitor:latest"))
        assert latest["timestamp"] == T0 + 2 and ["g", {"host": "a"}, 2.0] in latest["samples"]
        first = r.xrange("autobot:monitor:history")[0][1]
        assert ["c_total", {}, None] in json.loads(first["samples"])  # NaN -> null
        srv.stop()
        for k in range(3, 11):  # 8 cycles while down: 3 dropped, 5 buffered
            cycle(store, k)
        wait_until(lambda: store.up is False, 10, what="mirror to notice")
        assert store.query_range("g", {}, T0, T0 + 10, 1)[0].points[-1] == (T0 + 10, 10.0)  # store fine
        fams = {f.name: f.samples[0].value for f in store.families() if f.samples}
        assert fams["autobot_store_redis_up"] == 0 and fams["autobot_store_redis_dropped_total"] == 3
        assert fams["autobot_store_redis_backlog_entries"] == 5
        assert "backlog full (5 cycles)" in caplog.text
        restarted = subprocess.Popen([REDIS_SERVER, "--port", str(srv.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: r.ping() and r.xlen("autobot:monitor:history") == 5, 20, what="replay")
        ts = [float(e[1]["ts"]) for e in r.xrange("autobot:monitor:history")]
        assert ts == [T0 + k for k in range(6, 11)]  # the newest 5, in order
        assert json.loads(r.get("autobot:monitor:latest"))["timestamp"] == T0 + 10
        assert "is back: replaying" in caplog.text
        for k in range(11, 30):  # the stream stays bounded (MAXLEN ~ 10)
            cycle(store, k)
        wait_until(lambda: store.mirrored == 3 + 5 + 19, 10, what="mirrored")
        assert r.xlen("autobot:monitor:history") < 30
    finally:
        store.close()
        if restarted is not None:
            restarted.terminate()
            restarted.wait(10)
        srv.stop()
