"""Redis benchmark against a real redis-server: figures, key cleanup (also on SIGINT), db refusal."""

import os
import signal
import textwrap

import pytest
import redis

from autobot_monitor.benchmark import database
from autobot_monitor.config.models import RedisService
from autobot_monitor.errors import BenchmarkError
from support import CliProcess, wait_until


def _svc(server, databases=(3, 5)):
    return RedisService(name="r", type="redis", address=server.address, databases=list(databases))


def _dbsizes(server, dbs):
    return {db: redis.Redis(port=server.port, db=db).dbsize() for db in dbs}


def test_measures_every_command_and_leaves_no_key(redis_server):
    other = redis.Redis(port=redis_server.port, db=3)
    other.set("user:key", "keep me")
    r = database.run_service(_svc(redis_server), duration=1.4)
    assert set(r["dbs"]) == {"3", "5"}
    for ops in r["dbs"].values():
        assert set(ops) == set(database.OPS)
        for fig in ops.values():
            assert fig["commands"] > 0 and fig["latency_seconds"]["p50"] > 0
    assert r["cleanup"]["left"] == 0 and r["cleanup"]["removed"] > 0
    assert _dbsizes(redis_server, [3, 5]) == {3: 1, 5: 0}
    assert other.get("user:key") == b"keep me"


def test_refuses_a_db_not_in_config(redis_server):
    with pytest.raises(BenchmarkError, match="not in its config"):
        database.run_service(_svc(redis_server), 1, dbs=[0])
    assert _dbsizes(redis_server, [0]) == {0: 0}


def test_sigint_mid_run_still_removes_every_key(redis_server, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent(f"""
        services:
          - {{name: r, type: redis, address: "{redis_server.address}", databases: [7]}}
    """))
    # 7 commands share the duration: keys appear once `set` starts (after 1/7 of it); the signal
    # then lands with most of the run still to go.
    p = CliProcess(["benchmark", "database", "--config", str(cfg), "--duration", "28",
                    "--data-dir", str(tmp_path / "d")])
    try:
        wait_until(lambda: _dbsizes(redis_server, [7])[7] > 0, 20, 0.05, "benchmark keys")
        p.send_signal(signal.SIGINT)
        rc = p.proc.wait(120)  # a deadlock guard, not a timing check
        out = p.output()
    finally:
        p.stop()
    assert rc == 130, out
    assert _dbsizes(redis_server, [7]) == {7: 0}
    assert "interrupted" in out
    assert not os.path.exists(tmp_path / "d" / "logs" / "benchmarks")
