"""The runner isolates collectors: one that raises or hangs is reported failed in the
self-metrics and the others still deliver; a hung one is not started again while stuck."""

import asyncio
import threading

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
