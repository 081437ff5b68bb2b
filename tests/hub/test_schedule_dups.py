"""The hub's cycle schedule after an overrun (fake clock: no sleeping), and duplicate samples
of one scrape dropped (first wins) and counted, against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.exposition import render
from autobot_monitor.hub.schedule import CycleSchedule
from autobot_monitor.hub.scrape import ScrapeTarget, scrape, scrape_client, scrape_families
from autobot_monitor.hub.scrape_health import ScrapeHealth


def _run(durations: list[float], interval: float) -> tuple[list[float], CycleSchedule]:
    """Drive a CycleSchedule as Hub.run_forever does, each cycle lasting ``durations[i]``
    seconds of the fake clock; returns the cycles' monotonic start times."""
    clock = FakeClock()
    sched = CycleSchedule(clock)
    starts = []
    for d in durations:
        if sched.delay() > 0:
            clock.advance(sched.delay())
        starts.append(clock.monotonic())
        clock.advance(d)
        sched.done(interval)
    return starts, sched


def test_overrun_cycle_does_not_skip_a_slot(caplog):
    interval = 5.0
    durations = [1.0] * 3 + [5.6] * 4 + [1.0] * 5  # a hung target under CPU load, then well
    with caplog.at_level(logging.INFO, logger="autobot_monitor.hub.schedule"):
        starts, sched = _run(durations, interval)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # every gap is the longer of the interval and the cycle before it: no interval dropped
    # (skipping ahead would give 5.6 + 5 = 10.6 s, a hole for every series)
    assert gaps == pytest.approx([max(interval, d) for d in durations[:-1]])
    assert max(gaps) < 1.5 * interval
    assert sched.overruns == 4
    assert sched.families()[0].samples[0].value == 4
    # once back on time the grid is regular again
    assert gaps[-3:] == pytest.approx([interval] * 3)
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2, msgs  # one when falling behind, one when back on schedule
    assert "starts at once" in msgs[0] and "back on schedule" in msgs[1]


def test_one_catch_up_no_burst():
    # one very long cycle (3 intervals): the next starts at once, then the grid resumes from
    # there; the missed slots are not run back to back
    starts, sched = _run([16.0, 1.0, 1.0, 1.0], 5.0)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([16.0, 5.0, 5.0])
    assert sched.overruns == 1


class _Dup(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b'# TYPE m gauge\nm 1\nm 2\nx{a="1",b="2"} 3\nx{b="2",a="1"} 4\ny 5\n'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_duplicate_samples_dropped_first_wins_and_counted():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Dup)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    target = ScrapeTarget("dup", f"http://127.0.0.1:{srv.server_address[1]}/metrics")

    async def twice():
        async with scrape_client(5.0) as client:
            return [await scrape(client, target, 30.0, 0.0) for _ in range(2)]

    try:
        results = asyncio.run(twice())
    finally:
        srv.shutdown()
        srv.server_close()
    r = results[0]
    assert r.ok and r.duplicates == 2
    values = {(s.name, s.labels): s.value for f in r.families for s in f.samples}
    assert len(values) == 3 and sum(len(f.samples) for f in r.families) == 3
    assert values[("m", ())] == 1 and values[("y", ())] == 5
    text = render(r.families).decode()
    assert "m 2" not in text and text.count("\nx{") + text.startswith("x{") == 1
    health = ScrapeHealth()
    health.record(results[:1])
    health.record(results[1:])
    assert health.duplicates() == {("dup", target.instance, ""): 4}
    fams = {f.name: f for f in scrape_families(results, health.failures(), health.duplicates())}
    dup = fams["autobot_scrape_samples_duplicate_total"].samples
    assert [s.value for s in dup] == [4]
    assert fams["autobot_scrape_samples_scraped"].samples[0].value == 3


def test_hub_run_forever_starts_next_cycle_at_once_after_overrun(tmp_path, monkeypatch):
    """Hub.run_forever itself, with cycles that each take 1.2 x the interval on the fake clock
    and its waits moving the fake clock: each cycle starts when the previous one ends, never a
    slot later (skipping ahead gave 6 + 5 = 11 s between cycles)."""
    from autobot_monitor.config.models import MonitorConfig
    from autobot_monitor.hub import service

    clock = FakeClock()
    hub = service.Hub(MonitorConfig(monitoring_interval=5), str(tmp_path / "d"), clock=clock)
    starts: list[float] = []

    class _Runner:
        async def run(self):
            return [], None

    async def cycle():
        starts.append(clock.monotonic())
        clock.advance(6.0)
        if len(starts) == 5:
            hub.stop()

    async def fake_wait_for(aw, timeout):  # the hub's wait between cycles, on the fake clock
        aw.close()
        clock.advance(timeout)
        raise TimeoutError

    hub.runner = _Runner()
    hub.run_cycle = cycle
    monkeypatch.setattr(service.asyncio, "wait_for", fake_wait_for)
    asyncio.run(hub.run_forever())
    assert starts[0] == 1001.0  # first cycle one second after start
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [6.0] * 4
    assert hub.schedule.overruns == 5
    fam = next(f for f in hub._hub_families() if f.name == "autobot_hub_cycles_overrun_total")
    assert fam.samples[0].value == 5
