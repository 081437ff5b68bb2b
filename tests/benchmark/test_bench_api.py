"""API benchmark against a real HTTP server with a known injected delay."""

import asyncio

import pytest

from autobot_monitor.benchmark import api

DELAY = 0.05


def test_closed_loop_p50_is_the_injected_delay(http_server):
    ep = api.Endpoint("sleep", http_server.url(f"/sleep/{DELAY}"))
    r = asyncio.run(api.closed_loop(ep, concurrency=4, duration=0.5))
    lat = r["latency_seconds"]
    assert r["requests"] >= 4 and r["error_rate"] == 0  # every worker finished requests
    assert DELAY <= lat["min"]  # every measured request includes the server's delay
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert r["status_codes"] == {"200": r["requests"]}
    assert r["latency_histogram"][-1]["count"] == r["requests"]
    assert r["throughput_per_second"] == pytest.approx(r["requests"] / r["duration_seconds"])


def test_open_loop_measures_from_the_intended_send_time(http_server):
    ep = api.Endpoint("sleep", http_server.url(f"/sleep/{DELAY}"))
    r = asyncio.run(api.open_loop(ep, rate=20, duration=0.5, max_inflight=4))
    assert r["scheduled"] == 10 and r["requests"] == 10
    assert DELAY <= r["latency_seconds"]["min"]
    # one connection at 40/s against a 50 ms server is overloaded: queueing must show in latency
    # (the 20th send, due at 0.475 s, cannot start before 19 x 50 ms = 0.95 s)
    q = asyncio.run(api.open_loop(ep, rate=40, duration=0.5, max_inflight=1))
    assert q["latency_seconds"]["max"] > 0.45


def test_status_codes_and_errors_are_counted(http_server):
    ep = api.Endpoint("bad", http_server.url("/status/503"))
    r = asyncio.run(api.closed_loop(ep, concurrency=2, duration=0.3))
    assert r["error_rate"] == 1.0 and set(r["status_codes"]) == {"503"}
    from support import free_port

    dead = api.Endpoint("dead", f"http://127.0.0.1:{free_port()}/", timeout=1)
    r = asyncio.run(api.closed_loop(dead, concurrency=1, duration=0.3))
    assert r["error_rate"] == 1.0 and r["latency_seconds"]["p50"] is None and r["errors"]
