"""Every family the host collectors emit on this machine is declared, typed and labelled as such."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors import collector_class
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.netdev import NetdevCollector
from autobot_monitor.model import check_metric_name

MINE = ("cpu", "loadavg", "memory", "filesystem", "diskstats", "netdev", "netclass", "processes", "uptime",
        "netstat", "sockstat", "vmstat", "pressure", "filefd", "entropy", "timex", "uname", "os",
        "selinux", "time", "softnet", "arp", "udp_queues", "process", "conntrack", "schedstat")
# sources a healthy machine may lack: no PSI, no ARP neighbour, no nf_conntrack, no SCHEDSTATS
MAY_BE_EMPTY = ("pressure", "arp", "conntrack", "schedstat")


@pytest.mark.parametrize("name", MINE)
def test_emitted_families_are_declared_on_the_real_machine(name):
    cls = collector_class(name)
    assert cls.name == name
    specs = {s.name: s for s in cls.SPECS}
    assert len(specs) == len(cls.SPECS), "duplicate spec names"
    prefixes = getattr(cls, "DYNAMIC_PREFIXES", ())
    clock = FakeClock()
    collector = cls(CollectorContext(clock=clock))
    emitted: set[str] = set()
    for _ in range(2):
        fams = list(collector.collect())
        names = [f.name for f in fams]
        assert len(names) == len(set(names)), f"{name}: a family emitted twice"
        for fam in fams:
            emitted.add(fam.name)
            spec = specs.get(fam.name)
            if spec is None:
                assert fam.name.startswith(prefixes), f"{fam.name} not declared by {name}"
                check_metric_name(fam.name, fam.type, fam.unit)
                label_names: set[str] = set()
            else:
                assert (fam.type, fam.help, fam.unit) == (spec.type, spec.help, spec.unit)
                label_names = set(spec.labels)
            assert fam.samples, f"{fam.name}: empty family emitted"
            for s in fam.samples:
                assert s.name == fam.name
                assert {k for k, _ in s.labels} == label_names, f"{fam.name}: {s.labels}"
                assert not math.isnan(s.value)
        clock.advance(20)
    assert emitted or name in MAY_BE_EMPTY


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=8),
       st.lists(st.floats(min_value=0.001, max_value=100), min_size=8, max_size=8))
def test_network_rates_never_negative_for_arbitrary_counter_sequences(tmp_path_factory, counters, gaps):
    base = tmp_path_factory.mktemp("netdev")
    (base / "net").mkdir()
    clock = FakeClock()
    c = NetdevCollector(CollectorContext(procfs=str(base), sysfs=str(base / "sys"), clock=clock))
    prev = None
    for value, gap in zip(counters, gaps, strict=False):
        (base / "net" / "dev").write_text(
            f"h\nh\n  eth0: {value} 1 0 0 0 0 0 0 {value} 1 0 0 0 0 0 0\n")
        fams = c.collect()
        rates = [s.value for f in fams if f.name.endswith("_per_second") for s in f.samples]
        if prev is None or value < prev:
            assert rates == []
        else:
            assert len(rates) == 2 and all(r >= 0 and math.isfinite(r) for r in rates)
        prev = value
        clock.advance(gap)
