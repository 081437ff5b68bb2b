"""The procfs/syscall collectors against the real node_exporter: the same recorded tree
(tests/fixtures/host) read by both must give the same families, types, help, labels and values;
the syscall families (uname, timex) and the process_* self metrics are compared on this machine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autobot_monitor.collectors import build
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.exposition import render
from support import free_port, wait_http

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
pytestmark = pytest.mark.skipif(NODE_EXPORTER is None, reason="node_exporter not installed")

#: Collectors read from the recorded tree (node_exporter's collector names are ours).
TREE = ("netstat", "sockstat", "vmstat", "pressure", "filefd", "entropy", "conntrack", "os",
        "softnet", "arp", "udp_queues", "schedstat", "time")
LIVE = ("uname", "timex", "selinux")
# node_exporter's time collector also emits node_time_seconds: ours comes from `uptime`
NOT_OURS = ("node_time_seconds",)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "host"


def _families(text: str) -> dict:
    """Parsed families by name: node_* and process_*, minus node_exporter's own and the
    families other collectors of ours emit."""
    skip = ("node_scrape_", "node_exporter_", "node_textfile_")
    return {f.name: f for f in text_string_to_metric_families(text)
            if f.name.startswith(("node_", "process_")) and f.name not in NOT_OURS
            and not f.name.startswith(skip)}


def _samples(fam) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in fam.samples}


@pytest.fixture(scope="module")
def node_exporter(tmp_path_factory):
    """A real node_exporter over a copy of the recorded tree, only our collectors enabled."""
    base = tmp_path_factory.mktemp("ne") / "host"
    shutil.copytree(FIXTURES, base)
    port = free_port()
    args = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
            f"--path.procfs={base / 'proc'}", f"--path.sysfs={base / 'sys'}",
            f"--path.rootfs={base / 'root'}", "--collector.disable-defaults",
            *(f"--collector.{n}" for n in TREE + LIVE)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        yield base, f"http://127.0.0.1:{port}/metrics"
    finally:
        proc.terminate()
        proc.wait(10)


def _ours(base, names) -> str:
    ctx = CollectorContext(procfs=str(base / "proc"), sysfs=str(base / "sys"),
                           rootfs=str(base / "root"))
    return render([f for c in build(ctx, list(names)) for f in c.collect()]).decode()


def test_recorded_tree_reads_exactly_as_node_exporter_reads_it(node_exporter):
    base, url = node_exporter
    ours = _families(_ours(base, TREE))
    theirs = _families(httpx.get(url, timeout=10).text)
    theirs = {n: f for n, f in theirs.items()
              if not n.startswith(("node_uname_", "node_timex_", "node_selinux_", "process_"))}
    assert sorted(ours) == sorted(theirs)
    for name, fam in theirs.items():
        assert (ours[name].type, ours[name].documentation) == (fam.type, fam.documentation), name
        assert _samples(ours[name]) == _samples(fam), name
    # the recorded tree has every family: none of them is vacuous
    assert {"node_netstat_Tcp_InSegs", "node_sockstat_TCP_mem_bytes", "node_vmstat_pgfault",
            "node_pressure_io_stalled_seconds_total", "node_nf_conntrack_stat_found",
            "node_schedstat_running_seconds_total", "node_udp_queues", "node_arp_entries",
            "node_os_version", "node_time_clocksource_current_info"} <= {
        f.name + ("_total" if f.type == "counter" else "") for f in ours.values()}


def test_syscall_families_match_node_exporter_on_this_machine(node_exporter):
    _, url = node_exporter
    theirs = _families(httpx.get(url, timeout=10).text)
    ours = _families(_ours(Path("/"), LIVE))
    live = {n for n in theirs if n.startswith(("node_uname_", "node_timex_", "node_selinux_"))}
    assert live and sorted(ours) == sorted(live)
    for name in live:
        assert (ours[name].type, ours[name].documentation) == (theirs[name].type,
                                                              theirs[name].documentation)
        assert set(_samples(ours[name])) == set(_samples(theirs[name])), name
    for name in ("node_uname_info", "node_selinux_enabled"):
        assert _samples(ours[name]) == _samples(theirs[name]), name
    for name in ("node_timex_tick_seconds", "node_timex_tai_offset_seconds"):
        assert _samples(ours[name]) == _samples(theirs[name]), name


def test_process_families_are_node_exporters(node_exporter):
    _, url = node_exporter
    theirs = {n: f for n, f in _families(httpx.get(url, timeout=10).text).items()
              if n.startswith("process_")}
    ours = _families(_ours(Path("/"), ["process"]))
    assert sorted(ours) == sorted(theirs)
    for name, fam in theirs.items():
        assert (ours[name].type, ours[name].documentation) == (fam.type, fam.documentation)
