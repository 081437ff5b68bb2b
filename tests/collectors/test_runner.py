"""The runner isolates collectors: one that raises or hangs is reported failed in the
self-metrics and the others still deliver; a hung one is not started again while stuck. A
collector with an interval runs at most that often (fake clock) and is served again in between;
each collector's CPU time is counted."""

import asyncio
import threading
import time

import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import Collector, CollectorContext
from autobot_monitor.collectors.runner import CollectorRunner
from autobot_monitor.model import MetricSpec

G = MetricSpec("test_value", "gauge", "t", "", ("who",))


def make(name, behaviour, isolate=True):
    class C(Collector):
        def collect(self):
            behaviour()
            f = G.family()
            f.add(1, {"who": name})
            return [f]
    C.name = name
    C.isolate = isolate
    return C(CollectorContext())


def ok():
    pass


def boom():
    raise RuntimeError("kaput")


release = threading.Event()


def hang():
    release.wait(10)


def self_metrics(fams):
    out = {}
    for f in fams:
        if f.name == "autobot_scrape_collector_success":
            out = {s.label_dict["collector"]: s.value for s in f.samples}
    return out


def delivered(fams):
    return sorted(s.label_dict["who"] for f in fams if f.name == "test_value" for s in f.samples)


async def test_raising_and_hanging_collectors_do_not_stop_the_others():
    release.clear()
    runner = CollectorRunner([make("a", ok), make("b", boom), make("c", hang), make("d", ok, False),
                              make("e", boom, False), make("f", ok, False)], timeout=0.5)
    fams, results = await runner.run()  # returns once the hung one has used its 0.5 s timeout
    assert self_metrics(fams) == {"a": 1, "b": 0, "c": 0, "d": 1, "e": 0, "f": 1}
    assert delivered(fams) == ["a", "d", "f"]
    errors = {r.name: r.error for r in results}
    assert errors["b"] == "RuntimeError: kaput" and errors["c"] == "timeout"
    assert errors["e"] == "RuntimeError: kaput"
    # still hung: not started again, reported failed, others fine
    fams, results = await runner.run()
    assert {r.name: r.error for r in results}["c"] == "previous run still in progress"
    assert delivered(fams) == ["a", "d", "f"]
    release.set()  # the hung run ends; the runner starts the collector again from then on
    for _ in range(1000):
        fams, results = await runner.run()
        if {r.name: r.error for r in results}["c"] != "previous run still in progress":
            break
        await asyncio.sleep(0.01)
    assert self_metrics(fams)["c"] == 1
    runner.close()


class Counting(Collector):
    """Emits how many times it ran; raises while ``fail`` is set."""

    name = "counting"
    default_interval = 10.0

    def __init__(self, ctx):
        super().__init__(ctx)
        self.runs = 0
        self.fail = False

    def collect(self):
        self.runs += 1
        if self.fail:
            raise RuntimeError("broken")
        f = G.family()
        f.add(self.runs, {"who": "counting"})
        return [f]


def sample(fams, name, collector):
    return {s.value for f in fams if f.name == name for s in f.samples
            if s.label_dict.get("collector") == collector or s.label_dict.get("who") == collector}


async def test_collector_runs_at_most_every_interval_and_is_served_again_in_between():
    clock = FakeClock()
    c = Counting(CollectorContext(clock=clock))
    every = make("every", ok, False)
    runner = CollectorRunner([c, every], clock=clock)
    fams, _ = await runner.run()
    assert sample(fams, "test_value", "counting") == {1}
    for _ in range(9):
        clock.advance(1)
        fams, results = await runner.run()
        assert sample(fams, "test_value", "counting") == {1}  # last run's families again
        assert self_metrics(fams) == {"counting": 1, "every": 1}
        assert {r.name: r.fresh for r in results} == {"counting": False, "every": True}
    assert c.runs == 1
    clock.advance(1)
    fams, _ = await runner.run()
    assert c.runs == 2 and sample(fams, "test_value", "counting") == {2}
    assert sample(fams, "autobot_scrape_collector_interval_seconds", "counting") == {10.0}
    assert sample(fams, "autobot_scrape_collector_interval_seconds", "every") == {1.0}
    runner.close()


async def test_failed_collector_is_reported_failed_until_it_runs_again_without_stale_families():
    clock = FakeClock()
    c = Counting(CollectorContext(clock=clock))
    runner = CollectorRunner([c], clock=clock)
    await runner.run()
    clock.advance(10)
    c.fail = True
    fams, _ = await runner.run()
    for _ in range(3):
        assert self_metrics(fams) == {"counting": 0}
        assert sample(fams, "test_value", "counting") == set()
        clock.advance(3)
        fams, (result,) = await runner.run()
        assert result.error == "RuntimeError: broken"
    assert c.runs == 2  # not retried before its interval
    c.fail = False
    clock.advance(1)
    fams, _ = await runner.run()
    assert self_metrics(fams) == {"counting": 1} and sample(fams, "test_value", "counting") == {3}
    runner.close()


@pytest.mark.parametrize("option,interval", [(None, 10.0), (2, 2.0), ("30", 30.0), (0, None),
                                             ("none", None), ("soon", 10.0), (-1, 10.0)])
def test_option_interval_overrides_default_interval(option, interval):
    options = {} if option is None else {"counting": {"interval": option}}
    assert Counting(CollectorContext(options=options)).interval() == interval


async def test_option_interval_zero_runs_every_cycle():
    clock = FakeClock()
    c = Counting(CollectorContext(clock=clock, options={"counting": {"interval": 0}}))
    runner = CollectorRunner([c], clock=clock)
    for _ in range(3):
        await runner.run()
    assert c.runs == 3
    runner.close()


async def test_cpu_seconds_counted_per_collector_from_its_thread_time():
    spent = 0.02

    def burn():  # spins until its own thread has used `spent` CPU seconds
        t0 = time.thread_time()
        while time.thread_time() - t0 < spent:
            pass

    runner = CollectorRunner([make("burner", burn, False), make("idle", ok)])
    totals = []
    for _ in range(2):
        fams, _ = await runner.run()
        totals.append(sample(fams, "autobot_scrape_collector_cpu_seconds_total", "burner").pop())
    assert spent <= totals[0] and 2 * spent <= totals[1]
    (idle,) = sample(fams, "autobot_scrape_collector_cpu_seconds_total", "idle")
    assert 0 <= idle < totals[1]
    runner.close()


async def test_hung_shared_collector_does_not_hold_back_the_others_of_its_group():
    release.clear()
    runner = CollectorRunner([make("p", ok, False), make("q", hang, False), make("r", ok, False)],
                             timeout=0.3)
    await runner.run()  # q hangs: the whole shared call times out once
    fams, results = await runner.run()
    assert {r.name: r.error for r in results} == {"p": None, "q": "previous run still in progress",
                                                  "r": None}
    assert delivered(fams) == ["p", "r"]
    release.set()
    runner.close()


async def test_collector_after_a_hung_one_in_its_chain_still_delivers_in_the_same_cycle():
    """Each collector has its own timeout from its own start: the hung one is given up after
    it, and the ones after it in the same worker chain run at once in a new call."""
    release.clear()
    runner = CollectorRunner([make("h", hang), make("i1", ok), make("i2", boom),
                              make("s1", hang, False), make("s2", ok, False)], timeout=0.3)
    fams, results = await runner.run()
    assert {r.name: r.error for r in results} == {
        "h": "timeout", "i1": None, "i2": "RuntimeError: kaput", "s1": "timeout", "s2": None}
    assert delivered(fams) == ["i1", "s2"]
    assert self_metrics(fams) == {"h": 0, "i1": 1, "i2": 0, "s1": 0, "s2": 1}
    release.set()
    runner.close()


async def test_a_collector_on_its_own_interval_runs_beside_the_every_cycle_ones():
    """A slow collector with an interval (smartctl, systemctl) gets its own worker call: here it
    can only finish once an every-cycle isolated collector listed after it has run, which a
    shared one-after-the-other chain would never allow (it would time out instead)."""
    other_ran = threading.Event()

    class Slow(Collector):
        name = "slow"
        default_interval = 60.0

        def collect(self):
            assert other_ran.wait(30), "the every-cycle collector never ran beside this one"
            f = G.family()
            f.add(1, {"who": "slow"})
            return [f]

    runner = CollectorRunner([Slow(CollectorContext()), make("fast", other_ran.set)], timeout=30)
    fams, results = await runner.run()
    assert {r.name: r.error for r in results} == {"slow": None, "fast": None}
    assert delivered(fams) == ["fast", "slow"]
    runner.close()


def test_a_collector_stuck_for_good_does_not_keep_the_process_alive(tmp_path):
    """A worker stuck in a call that never returns (a dead NFS mount, a wedged driver) must not
    hold up the process's exit: the runner's threads are daemons, not joined at exit."""
    import subprocess
    import sys

    script = tmp_path / "stuck.py"
    script.write_text(
        "import asyncio, threading\n"
        "from autobot_monitor.collectors.base import Collector, CollectorContext\n"
        "from autobot_monitor.collectors.runner import CollectorRunner\n"
        "class Stuck(Collector):\n"
        "    name = 'stuck'\n"
        "    def collect(self):\n"
        "        threading.Event().wait()\n"
        "        return []\n"
        "r = CollectorRunner([Stuck(CollectorContext())], timeout=0.2)\n"
        "_, res = asyncio.run(r.run())\n"
        "assert res[0].error == 'timeout', res\n"
        "r.close()\n"
        "print('done', flush=True)\n")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "done", p.stderr
