"""Check timings measure the wire, not the hub's event loop: the checks run and take their time on
a thread and loop of their own, so a stalled hub loop cannot end up in a response time."""

from __future__ import annotations

import asyncio
import threading
import time

from autobot_monitor.checks.runner import ServiceChecker
from autobot_monitor.config.models import HttpService, RedisService, TcpService

STALL = 1.5  # seconds the test keeps its own (the "hub's") event loop busy, on purpose


async def test_a_stalled_hub_loop_is_not_in_the_response_times(redis_server, tcp_listener,
                                                               http_server):
    services = [RedisService(type="redis", name="cache", address=redis_server.address),
                TcpService(type="tcp", name="port", address=tcp_listener),
                HttpService(type="http", name="web", url=http_server.url("/ok"))]
    checker = ServiceChecker(services)
    seen: set[int] = set()
    try:
        _, first = await checker.run()  # the Redis connection is open from now on
        assert all(r.up for r in first), [r.error for r in first]
        task = asyncio.create_task(checker.run())
        for _ in range(10):  # let the checks start their I/O (on the old design: their timers)
            await asyncio.sleep(0)
        end = time.perf_counter() + STALL
        while time.perf_counter() < end:  # the stall under test: busy, holding the GIL, no await
            pass
        _, results = await task
        seen.add(checker.thread.ident)  # type: ignore[union-attr]
    finally:
        await checker.aclose()
    assert threading.get_ident() not in seen  # the checks ran on a thread of their own
    for r in results:
        assert r.up, r.error
        assert r.response_time_seconds is not None and r.response_time_seconds < STALL, r
    assert results[0].details["ping_seconds"] < STALL
    assert results[0].details["ping_timing"] == "kernel"  # send to the kernel's receive stamp
    tcp = results[1]  # the kernel's handshake RTT (Linux), at most the wall time around connect
    assert tcp.details["timing"] == "kernel_rtt"
    assert 0 < tcp.response_time_seconds <= tcp.details["connect_wall_seconds"]
