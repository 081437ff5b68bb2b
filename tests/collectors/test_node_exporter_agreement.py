"""Our agent and the real node_exporter, on this machine at the same moment, agree.

Both run as real processes on free loopback ports, with the same textfile directory. The families
we claim are every ``node_*`` name a registered collector declares in its ``SPECS`` (or covers by
its ``DYNAMIC_PREFIXES``), so the check grows as collectors are added.

One round: node_exporter is scraped (A), then our agent once it has finished a collection that
began after A (two fresh renders later), then node_exporter again (C). Our reading therefore lies
between A and C in time, which gives exact bounds without guessing rates:

* presence: at least :data:`MIN_SHARE` of node_exporter's series in claimed families appear in
  ours with identical name and labels, and identical type (the missing ones are printed);
* static values (:data:`STATIC`, every ``*_info``) equal A exactly (``node_boot_time_seconds``
  within 1 s); the textfile's families equal node_exporter's exactly, samples and values;
* counters within [A, C] up to 1e-9 relative (float spelling);
* gauges within [min(A, C), max(A, C)] widened by :data:`GAUGE_REL` of the larger magnitude plus
  1 (plus :data:`GAUGE_BYTES` for ``*_bytes``): a gauge sampled between two readings ~2 s apart
  can only leave their envelope by a spike that came back within those 2 s, as other processes
  allocating and freeing memory do on this shared 2-core box; 10 % is what such a
  spike reaches here (4 MiB absolute for small byte gauges), while a wrong unit or field is off
  by far more;
* :data:`VOLATILE` instantaneous counts (runnable tasks, I/Os in flight, sockets, open files,
  established connections; our own scrapes open and close some) are only checked for presence
  and type: their values at two instants are unrelated. Their values are checked exactly by
  the collectors' own tests on recorded trees (and test_procfs_parity against node_exporter).

A value out of bounds in one round may be noise from the rest of the machine; one out of bounds
in every one of :data:`ROUNDS` rounds is a real disagreement.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from autobot_monitor.collectors import REGISTRY, collector_class
from autobot_monitor.exposition import parse
from support import CliProcess, free_port, wait_until

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
MIN_SHARE = 0.95
ROUNDS = 3
GAUGE_REL = 0.10
GAUGE_BYTES = 4 * 1024 * 1024
STATIC = frozenset({
    "node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes", "node_memory_VmallocTotal_bytes",
    "node_memory_Hugepagesize_bytes", "node_memory_HugePages_Total",
    "node_filesystem_size_bytes", "node_filesystem_files", "node_filesystem_readonly",
    "node_filesystem_device_error",
    "node_network_mtu_bytes", "node_network_flags", "node_network_iface_id",
    "node_network_iface_link", "node_network_iface_link_mode", "node_network_address_assign_type",
    "node_network_device_id", "node_network_name_assign_type", "node_network_net_dev_group",
    "node_network_protocol_type", "node_network_transmit_queue_length", "node_network_speed_bytes",
    "node_network_up", "node_network_carrier", "node_network_dormant",
    "node_textfile_mtime_seconds", "node_textfile_scrape_error",
    "node_entropy_pool_size_bits", "node_filefd_maximum", "node_time_zone_offset_seconds",
    "node_nf_conntrack_entries_limit",
})
NEAR_STATIC = {"node_boot_time_seconds": 1.0}
#: instantaneous counts of kernel objects (runnable tasks, I/Os in flight, open sockets, file
#: handles, connections) that this test's own scrapes and the machine's other processes change
#: from one instant to the next: checked for presence and type only
VOLATILE = frozenset({"node_procs_running", "node_procs_blocked", "node_disk_io_now",
                      "node_processes_state", "node_processes_pids", "node_processes_threads",
                      "node_netstat_Tcp_CurrEstab", "node_filefd_allocated",
                      "node_entropy_available_bits", "node_nf_conntrack_entries"})
VOLATILE_PREFIXES = ("node_sockstat_",)
TEXTFILE = """# HELP agreement_jobs_queued Jobs waiting.
# TYPE agreement_jobs_queued gauge
agreement_jobs_queued{queue="a"} 3
agreement_jobs_queued{queue="b",prio="high"} 4.5
# TYPE agreement_runs_total counter
agreement_runs_total{result="ok"} 17
# TYPE agreement_latency_seconds histogram
agreement_latency_seconds_bucket{le="0.1"} 2
agreement_latency_seconds_bucket{le="1"} 5
agreement_latency_seconds_bucket{le="+Inf"} 6
agreement_latency_seconds_sum 3.25
agreement_latency_seconds_count 6
"""

Series = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, str, float]]

pytestmark = pytest.mark.skipif(
    NODE_EXPORTER is None, reason="prometheus-node-exporter is not installed "
    "(scripts/ensure-test-tools.sh installs it with apt-get as root)")


def claimed() -> tuple[set[str], tuple[str, ...]]:
    """``node_*`` family names our collectors declare, and their dynamic prefixes."""
    names: set[str] = set()
    prefixes: list[str] = []
    for n in REGISTRY:
        try:
            cls = collector_class(n)
        except (ImportError, AttributeError):
            continue
        names |= {s.name for s in cls.SPECS if s.name.startswith("node_")}
        prefixes += [p for p in getattr(cls, "DYNAMIC_PREFIXES", ()) if p.startswith("node_")]
    return names, tuple(prefixes)


def series(text: str) -> Series:
    """``{(sample name, labels): (family name, type, value)}`` of an exposition, empty-valued
    labels left out (``node_dmi_info`` gives every label, "" for a file it could not read;
    node_exporter leaves such labels out: the same series to Prometheus)."""
    out: Series = {}
    for fam in parse(text):
        for s in fam.samples:  # a label with an empty value is no label, to Prometheus too
            labels = tuple(p for p in s.labels if p[1] != "")
            out[(s.name, labels)] = (fam.name, fam.type, s.value)
    return out


def is_claimed(family: str, names: set[str], prefixes: tuple[str, ...]) -> bool:
    return family in names or bool(prefixes) and family.startswith(prefixes)


@pytest.fixture(scope="module")
def exporters(tmp_path_factory):
    """(node_exporter URL, our agent URL), both up and sharing one textfile directory."""
    textdir = tmp_path_factory.mktemp("textfile")
    (textdir / "agreement.prom").write_text(TEXTFILE)
    ne_port, our_port = free_port(), free_port()
    ne_log = textdir.parent / "node_exporter.log"
    with open(ne_log, "wb") as log:
        ne = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ne_port}",
                               f"--collector.textfile.directory={textdir}"],
                              stdout=log, stderr=subprocess.STDOUT)
    ours = CliProcess(["agent", "--listen", f"127.0.0.1:{our_port}", "--interval", "1",
                       "--collector.textfile.directory", str(textdir)])
    urls = (f"http://127.0.0.1:{ne_port}/metrics", f"http://127.0.0.1:{our_port}/metrics")
    try:
        _wait_answering(urls[0], ne, ne_log.read_text)
        _wait_answering(urls[1], ours.proc, ours.output)
        yield urls
    finally:
        ne.terminate()
        ne.wait(20)
        ours.stop()


def _wait_answering(url: str, proc: subprocess.Popen, output, timeout: float = 60) -> None:
    """Poll ``url`` until it serves metrics; fail at once, with the log, if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url}: exited {proc.returncode} before answering:\n{output()[-2000:]}")
        if _get(url):
            return
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{output()[-2000:]}")


def _get(url: str) -> str | None:
    try:
        r = httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return None
    return r.text if r.status_code == 200 and "node_" in r.text else None


def one_round(ne_url: str, our_url: str) -> tuple[Series, Series, Series]:
    """(A, ours, C): see the module doc. Our scrape is taken from the second render that appears
    after A, whose collection therefore started after A was complete."""
    before = _get(our_url)
    a = series(_get(ne_url) or "")
    seen = [before]

    def fresh():
        text = _get(our_url)
        if text and text != seen[-1]:
            seen.append(text)
        return len(seen) >= 3

    wait_until(fresh, 30, 0.05, "two fresh collections of our agent")
    ours = series(seen[-1] or "")
    c = series(_get(ne_url) or "")
    return a, ours, c


def value_problem(family: str, typ: str, a: float, ours: float, c: float) -> str | None:
    """Why ``ours`` disagrees with node_exporter's readings ``a`` then ``c``, or None."""
    if math.isnan(a) or math.isnan(ours):
        return None if math.isnan(a) and math.isnan(ours) else f"NaN: {a} vs {ours}"
    if family in NEAR_STATIC:
        return None if abs(ours - a) <= NEAR_STATIC[family] else f"{ours} != {a}"
    if typ == "info" or family in STATIC:
        return None if ours == a else f"static {ours} != {a}"
    if family in VOLATILE or family.startswith(VOLATILE_PREFIXES):
        return None
    lo, hi = min(a, c), max(a, c)
    if typ == "counter":
        slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
    else:
        slack = GAUGE_REL * max(abs(lo), abs(hi)) + 1 + (GAUGE_BYTES if "_bytes" in family else 0)
    if lo - slack <= ours <= hi + slack:
        return None
    return f"{ours} outside node_exporter's [{a}, {c}] +- {slack:g}"


def compare(a: Series, ours: Series, c: Series, names, prefixes):
    """(node_exporter's claimed series, the missing ones, wrong types, wrong values)."""
    wanted = {k: v for k, v in a.items() if is_claimed(v[0], names, prefixes)}
    missing = sorted(k for k in wanted if k not in ours)
    types, values = {}, {}
    for k, (family, typ, av) in wanted.items():
        if k not in ours:
            continue
        if ours[k][1] != typ:
            types[k] = f"type {ours[k][1]} != {typ}"
            continue
        if k in c:
            problem = value_problem(family, typ, av, ours[k][2], c[k][2])
            if problem:
                values[k] = problem
    return wanted, missing, types, values


def _fmt(keys) -> str:
    return "\n".join(f"  {n}{{{', '.join(f'{k}={v!r}' for k, v in labels)}}}"
                     for n, labels in sorted(keys))


def test_claimed_families_agree_with_node_exporter(exporters):
    ne_url, our_url = exporters
    names, prefixes = claimed()
    rounds = [compare(*one_round(ne_url, our_url), names, prefixes) for _ in range(ROUNDS)]
    wanted, missing, types, _ = min(rounds, key=lambda r: len(r[1]))
    share = 1 - len(missing) / max(len(wanted), 1)
    print(f"node_exporter series in claimed families: {len(wanted)}, ours present: "
          f"{len(wanted) - len(missing)} ({share:.1%})", file=sys.stderr)
    assert wanted, "node_exporter gave no series in the families we claim"
    assert share >= MIN_SHARE, f"{len(missing)} of {len(wanted)} missing:\n{_fmt(missing)}"
    assert not types, "\n".join(f"{k}: {v}" for k, v in sorted(types.items()))
    persistent = set.intersection(*(set(r[3]) for r in rounds))
    assert not persistent, "values disagree in every round:\n" + "\n".join(
        f"  {k}: {rounds[-1][3][k]}" for k in sorted(persistent))


def test_textfile_families_identical(exporters):
    ne_url, our_url = exporters
    a, ours, _ = one_round(ne_url, our_url)
    pick = lambda s: {k: v for k, v in s.items() if k[0].startswith("agreement_")}  # noqa: E731
    assert pick(a), "node_exporter did not read the textfile"
    assert pick(ours) == pick(a)
    assert ours[("node_textfile_scrape_error", ())][2] == 0
