"""Parsers of cgroup files and path patterns: kernel formats in, never an exception or an
impossible value for garbage; the hub's config reaches the collector."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.cgroupfs import (
    cgroup_of_pid,
    parse_blkio,
    parse_cpu_max,
    parse_flat_keyed,
    parse_io_stat,
    parse_limit,
    parse_proc_cgroup,
)
from autobot_monitor.collectors.container_paths import classify, explicit
from autobot_monitor.config.loader import parse_config
from autobot_monitor.hub.inventory import local_runner

KERNELISH = st.text(alphabet=st.sampled_from("0123456789 :=\n-xmaRWdrbytesio\t"), max_size=200)


def test_v2_limit_files():
    assert parse_cpu_max("max 100000\n") == (None, 100000)
    assert parse_cpu_max("150000 100000\n") == (150000, 100000)
    assert parse_cpu_max("garbage") == (None, None)
    assert parse_cpu_max("0 100000") == (None, None)
    assert parse_limit("max\n") is None and parse_limit("536870912\n") == 536870912
    assert parse_limit("-1") is None


def test_io_files():
    assert parse_io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n8:x rbytes=1\n") == {
        (8, 0): {"rbytes": 10, "wbytes": 20, "rios": 1, "wios": 2}}
    text = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n"
    assert parse_blkio(text, "rbytes", "wbytes") == {(8, 0): {"rbytes": 4096, "wbytes": 8192}}


@given(KERNELISH)
def test_parsers_never_raise_nor_go_negative(text):
    for v in parse_flat_keyed(text).values():
        assert v >= 0
    for stats in (*parse_io_stat(text).values(), *parse_blkio(text, "r", "w").values()):
        assert all(v >= 0 for v in stats.values())
    quota, period = parse_cpu_max(text)
    assert (quota is None or quota > 0) and (period is None or period > 0)
    assert parse_limit(text) is None or parse_limit(text) >= 0
    assert all(p.startswith("/") for p in parse_proc_cgroup(text).values())


def test_proc_cgroup_of_v1_v2_and_hybrid(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cgroup").write_text("0::/system.slice/nginx.service\n")
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "cgroup").write_text(
        "9:name=systemd:/\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n")
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "cgroup").write_text("0::/\n")
    assert cgroup_of_pid(str(tmp_path), 1) == "/system.slice/nginx.service"
    assert cgroup_of_pid(str(tmp_path), 2) == "/docker/abc"
    assert parse_proc_cgroup("2:cpu,cpuacct:/x\n")["cpuacct"] == "/x"
    assert cgroup_of_pid(str(tmp_path), 3) == "/"
    assert cgroup_of_pid(str(tmp_path), 4) is None


def test_path_patterns():
    h = "0123456789abcdef" * 4
    assert classify(f"/system.slice/docker-{h}.scope").kind == "docker"
    assert classify(f"/docker/{h}").cid == h
    assert classify(f"/machine.slice/libpod-{h}.scope").kind == "libpod"
    assert classify(f"/system.slice/crio-{h}.scope").name == h[:12]
    assert classify(f"/kubepods/besteffort/pod12345678-1234-1234-1234-123456789abc/{h}").kind == "kubepods"
    assert classify("/kubepods/besteffort") is None
    assert classify("/system.slice/sshd.service").name == "sshd.service"
    assert classify("/user.slice/user-1000.slice/user@1000.service") is None
    assert classify(f"/docker/{h}/system.slice/x.service") is None
    assert classify("/docker/short") is None
    assert explicit("custom/batch/").path == "/custom/batch"
    assert explicit("/custom/batch").name == "batch"


def test_hub_config_reaches_the_collector():
    cfg = parse_config("collectors:\n  enabled: [containers]\n  containers:\n"
                       "    cgroup_root: /nowhere\n    sockets: []\n    paths: [/a/b]\n")
    runner = local_runner(cfg, FakeClock())
    [c] = runner.collectors
    assert (c.cgroup_root, c.namer.sockets, c.paths) == ("/nowhere", [], ["/a/b"])
    assert c.collect() == []
    assert type(c).default_interval == 10.0


def test_agent_flags_make_the_options():
    import argparse

    from autobot_monitor.agent.collector_flags import collector_options
    from autobot_monitor.agent.command import add_parser

    def _containers_options(args: argparse.Namespace) -> dict:
        return collector_options(args).get("containers", {})

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    none = _containers_options(parser.parse_args(["agent", "--collector.containers.docker-socket", ""]))
    assert none == {"sockets": [""]}  # the collector reads [""] as "no API socket"
    assert _containers_options(parser.parse_args(["agent"])) == {}
    opts = _containers_options(parser.parse_args([
        "agent", "--collector.containers.cgroup-root", "/host/sys/fs/cgroup",
        "--collector.containers.docker-socket", "/a.sock", "--collector.containers.docker-socket",
        "/b.sock", "--collector.containers.paths", "/x,/y", "--collector.containers.max-containers", "5"]))
    assert opts == {"max_containers": 5, "cgroup_root": "/host/sys/fs/cgroup",
                    "sockets": ["/a.sock", "/b.sock"], "paths": "/x,/y"}
