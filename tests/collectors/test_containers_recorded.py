"""The containers collector on recorded cgroup trees (layouts this machine cannot create) and
with names from recorded Docker API answers served over a real unix socket (and from a real
``podman system service`` when podman runs here)."""

from __future__ import annotations

import http.server
import math
import os
import shutil
import socketserver
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from autobot_monitor.collectors.cgroupfs import USER_HZ
from autobot_monitor.collectors.containers import ContainersCollector
from support import CliProcess, free_port, wait_http

FIX = Path(__file__).resolve().parent.parent / "fixtures"
A, C, D, E = ("a" * 64, "c" * 64, "d" * 64, "e" * 64)
POD = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12345678_1234_1234_1234_123456789abc.slice"


@pytest.fixture
def trees(host):
    """Copies of the recorded trees and a fake sysfs naming block devices 8:0 and 254:0."""
    shutil.copytree(FIX / "cgroup", host.base / "cgroup", symlinks=True)
    for majmin, name in (("8:0", "sda"), ("254:0", "vda")):
        link = host.sysfs / "dev" / "block" / majmin
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"../../devices/virtual/block/{name}")
    return host


def run(host, tree: str, times: int = 1, **options):
    opts = {"cgroup_root": str(host.base / "cgroup" / tree), "own_cgroup": False, "sockets": [], **options}
    c = ContainersCollector(host.ctx({"containers": opts}))
    try:
        for _ in range(times):
            fams = c.collect()
            host.clock.advance(10)
    finally:
        c.close()
    return fams


def by_id(fams, metric):
    """``{(id, name, extra labels...): value}``."""
    out = {}
    for f in fams:
        for s in f.samples if f.name == metric else ():
            d = dict(s.labels)
            out[(d.pop("id"), d.pop("name"), *sorted(d.items()))] = s.value
    return out


def test_v2_tree_finds_containers_services_pods_and_machines(trees):
    fams = trees.names(run(trees, "v2"))
    usage = by_id(run(trees, "v2"), "container_cpu_usage_seconds_total")
    assert set(usage) == {
        (f"/system.slice/docker-{A}.scope", A[:12], ("cpu", "total")),
        (f"/system.slice/libpod-{C}.scope", C[:12], ("cpu", "total")),
        ("/system.slice/nginx.service", "nginx.service", ("cpu", "total")),
        ("/system.slice/half.service", "half.service", ("cpu", "total")),
        ("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service", ("cpu", "total")),
        (POD, "pod12345678-1234-1234-1234-123456789abc", ("cpu", "total")),
        (f"{POD}/cri-containerd-{'b' * 64}.scope", "b" * 12, ("cpu", "total")),
        ("/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope", "machine-qemu-1-vm1.scope", ("cpu", "total")),
    }  # not the session, init.scope nor gone.service (vanished: nothing readable)
    assert usage[(f"/system.slice/docker-{A}.scope", A[:12], ("cpu", "total"))] == 12.345678
    assert "container_fs_reads_bytes_total" in fams


def test_v2_docker_scope_figures_are_the_files(trees):
    fams = run(trees, "v2")
    key = (f"/system.slice/docker-{A}.scope", A[:12])

    def v(metric):
        return by_id(fams, metric).get(key)
    assert v("container_cpu_user_seconds_total") == 10.0
    assert v("container_cpu_system_seconds_total") == 2.345678
    assert v("container_cpu_cfs_periods_total") == 500
    assert v("container_cpu_cfs_throttled_periods_total") == 40
    assert v("container_cpu_cfs_throttled_seconds_total") == 1.5
    assert v("container_spec_cpu_quota") == 150000 and v("container_spec_cpu_period") == 100000
    assert v("autobot_container_cpu_limit_cores") == 1.5
    assert v("container_memory_usage_bytes") == 104857600
    assert v("container_memory_working_set_bytes") == 104857600 - 20971520
    assert v("container_memory_rss") == 62914560 and v("container_memory_cache") == 41943040
    assert v("container_spec_memory_limit_bytes") is None  # memory.max "max"
    assert v("container_threads") == 7 and v("container_threads_max") is None
    assert v("container_processes") == 2
    assert v("container_oom_events_total") == 0
    reads = by_id(fams, "container_fs_reads_bytes_total")
    assert reads[(*key, ("device", "/dev/vda"))] == 1048576
    assert reads[(*key, ("device", "7:0"))] == 4096  # no /sys/dev/block link: MAJ:MIN
    assert by_id(fams, "container_fs_writes_bytes_total")[(*key, ("device", "/dev/vda"))] == 2097152
    assert by_id(fams, "container_fs_reads_total")[(*key, ("device", "/dev/vda"))] == 10
    assert by_id(fams, "container_fs_writes_total")[(*key, ("device", "/dev/vda"))] == 20


def test_v2_service_without_quota_has_no_throttling_and_its_limits(trees):
    fams = run(trees, "v2")
    key = ("/system.slice/nginx.service", "nginx.service")
    for m in ("container_spec_cpu_quota", "autobot_container_cpu_limit_cores",
              "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_seconds_total"):
        assert key not in by_id(fams, m), m
    assert by_id(fams, "container_spec_cpu_period")[key] == 100000
    assert by_id(fams, "container_spec_memory_limit_bytes")[key] == 536870912
    assert by_id(fams, "container_oom_events_total")[key] == 2  # oom_kill, not oom
    assert by_id(fams, "container_threads_max")[key] == 4915
    half = ("/system.slice/half.service", "half.service")
    assert by_id(fams, "container_memory_usage_bytes").get(half) is None  # file missing


def test_v1_cgroupfs_docker_figures_limits_and_unlimited(trees):
    fams = run(trees, "v1")
    d4, d5 = (f"/docker/{D}", D[:12]), (f"/docker/{E}", E[:12])
    assert by_id(fams, "container_cpu_usage_seconds_total")[(*d4, ("cpu", "total"))] == 98.7654321
    assert by_id(fams, "container_cpu_user_seconds_total")[d4] == 8000 / USER_HZ
    assert by_id(fams, "container_cpu_cfs_throttled_seconds_total")[d4] == 2.5
    assert by_id(fams, "container_cpu_cfs_throttled_periods_total")[d4] == 30
    assert by_id(fams, "autobot_container_cpu_limit_cores")[d4] == 2.0
    assert d4 not in by_id(fams, "container_spec_memory_limit_bytes")  # LONG_MAX page-rounded
    assert by_id(fams, "container_memory_working_set_bytes")[d4] == 209715200 - 52428800
    assert by_id(fams, "container_memory_rss")[d4] == 94371840
    assert by_id(fams, "container_fs_writes_bytes_total")[(*d4, ("device", "/dev/sda"))] == 16384
    assert by_id(fams, "container_fs_reads_total")[(*d4, ("device", "/dev/sda"))] == 2
    assert d5 not in by_id(fams, "container_spec_cpu_quota")  # cfs_quota_us -1
    assert d5 not in by_id(fams, "container_cpu_cfs_periods_total")
    assert by_id(fams, "container_spec_memory_limit_bytes")[d5] == 1073741824
    assert by_id(fams, "container_oom_events_total")[d5] == 1
    assert by_id(fams, "container_threads_max")[d5] == 100
    ids = {k[0] for k in by_id(fams, "container_cpu_usage_seconds_total")}
    assert f"/kubepods/burstable/pod12345678-1234-1234-1234-123456789abc/{'f' * 64}" in ids
    assert f"/libpod_parent/libpod-{'0123456789abcdef' * 4}" in ids
    assert "/system.slice/ssh.service" in ids


def test_garbled_files_yield_no_impossible_values(trees):
    fams = run(trees, "v1", times=2)
    bad = f"/docker/{'fedcba9876543210' * 4}"
    for f in fams:
        for s in f.samples:
            assert math.isfinite(s.value) and s.value >= 0, s
    assert not any(dict(s.labels).get("id") == bad for f in fams for s in f.samples)


def test_max_containers_truncates_and_says_so(trees):
    fams = run(trees, "v2", max_containers=2)
    assert len({k[0] for k in by_id(fams, "container_cpu_usage_seconds_total")}) == 2
    [trunc] = [s.value for f in fams if f.name == "autobot_containers_truncated" for s in f.samples]
    [found] = [s.value for f in fams if f.name == "autobot_containers_discovered" for s in f.samples]
    assert trunc == 1 and found == 9
    fams = run(trees, "v2", max_scan=3)
    assert [s.value for f in fams if f.name == "autobot_containers_truncated" for s in f.samples] == [1]


def test_explicit_paths_and_a_vanished_one(trees):
    paths = "/user.slice/user-1000.slice/session-1.scope, /no/such/cgroup"
    fams = run(trees, "v2", paths=paths)
    usage = by_id(fams, "container_cpu_usage_seconds_total")
    assert ("/user.slice/user-1000.slice/session-1.scope", "session-1.scope", ("cpu", "total")) in usage
    assert not any(k[0] == "/no/such/cgroup" for k in usage)
    shutil.rmtree(trees.base / "cgroup" / "v2" / "system.slice" / "nginx.service")
    assert not any(k[0] == "/system.slice/nginx.service"
                   for k in by_id(run(trees, "v2"), "container_memory_usage_bytes"))


def test_no_cgroup_tree_yields_nothing(trees):
    assert run(trees, "nonexistent") == []


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers like the Docker daemon from the recorded files; counts requests."""

    mode = "recorded"
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).seen.append(self.path)
        if self.mode == "hang":
            time.sleep(5)
        if self.mode == "error":
            return self._answer(500, b'{"message": "boom"}')
        if self.mode == "garbage":
            return self._answer(200, b"\x00 not json")
        path = self.path.split("?")[0]
        if path == "/containers/json":
            return self._answer(200, (FIX / "containers-api" / "docker-containers.json").read_bytes())
        if path.startswith("/containers/") and path.endswith("/json"):
            f = FIX / "containers-api" / f"docker-inspect-{path.split('/')[2]}.json"
            if f.exists():
                return self._answer(200, f.read_bytes())
        return self._answer(404, b'{"message": "No such container"}')

    def _answer(self, code: int, body: bytes):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"


@pytest.fixture
def docker_api(tmp_path):
    """A real HTTP server on a unix socket answering recorded Docker API JSON."""
    sock = str(tmp_path / "docker.sock")

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    handler = type("H", (_Handler,), {"seen": [], "mode": "recorded"})
    srv = Server(sock, handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield sock, handler
    srv.shutdown()
    srv.server_close()


def test_names_from_the_docker_api_cached(trees, docker_api):
    sock, handler = docker_api
    opts = {"cgroup_root": str(trees.base / "cgroup" / "v2"), "own_cgroup": False, "sockets": [sock]}
    c = ContainersCollector(trees.ctx({"containers": opts}))
    try:
        names = {k[0]: k[1] for k in by_id(c.collect(), "container_memory_usage_bytes")}
        assert names[f"/system.slice/docker-{A}.scope"] == "web"        # from the list
        assert names[f"/system.slice/libpod-{C}.scope"] == "db"         # from inspect
        assert names["/system.slice/nginx.service"] == "nginx.service"  # not a container
        asked = list(handler.seen)
        assert asked == ["/containers/json", f"/containers/{C}/json"]
        c.collect()
        assert handler.seen == asked  # cached
    finally:
        c.close()
    v1 = run(trees, "v1", sockets=[sock])
    assert (f"/docker/{D}", "redis-cache", ("cpu", "total")) in by_id(v1, "container_cpu_usage_seconds_total")


@pytest.mark.parametrize("mode", ["error", "garbage", "hang"])
def test_an_unusable_api_leaves_path_names(trees, docker_api, mode):
    sock, handler = docker_api
    handler.mode = mode
    fams = run(trees, "v2", sockets=[sock, str(trees.base / "missing.sock")], api_timeout=0.5,
               times=2)
    names = {k[0]: k[1] for k in by_id(fams, "container_memory_usage_bytes")}
    assert names[f"/system.slice/docker-{A}.scope"] == A[:12]
    assert len(handler.seen) == 1  # a failed socket is left alone until retry_s


def _podman_service(tmp_path: Path):
    if os.geteuid() != 0 or not shutil.which("podman"):
        pytest.skip("needs root and podman")
    sock = tmp_path / "podman.sock"
    proc = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            pytest.skip(f"podman system service did not start: {proc.stderr.read()[:300]!r}")
        time.sleep(0.05)
    return proc, str(sock)


def test_names_from_a_real_podman_service(trees, tmp_path):
    proc, sock = _podman_service(tmp_path)
    name = f"autobot-test-{uuid.uuid4().hex[:8]}"
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    try:
        made = subprocess.run(["podman", "create", "--name", name, "--rootfs", str(rootfs), "/true"],
                              capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            pytest.skip(f"podman create failed: {made.stderr[:300]}")
        cid = made.stdout.strip().splitlines()[-1]
        src = trees.base / "cgroup" / "v1"
        for ctl in ("cpu,cpuacct", "memory", "pids", "blkio"):
            old = src / ctl / "libpod_parent" / f"libpod-{'0123456789abcdef' * 4}"
            old.rename(old.with_name(f"libpod-{cid}"))
        fams = run(trees, "v1", sockets=[sock], api_timeout=5)
        key = (f"/libpod_parent/libpod-{cid}", name, ("cpu", "total"))
        assert key in by_id(fams, "container_cpu_usage_seconds_total")
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, timeout=60)
        proc.terminate()
        proc.wait(timeout=30)


def test_declared_families_on_this_machine(host):
    c = ContainersCollector(host.ctx({"containers": {"cgroup_root": "/sys/fs/cgroup"}}))
    specs = {s.name: s for s in c.SPECS}
    for fam in c.collect():
        spec = specs[fam.name]
        assert (fam.type, fam.help, fam.unit) == (spec.type, spec.help, spec.unit)
        for s in fam.samples:
            assert {k for k, _ in s.labels} == set(spec.labels)
    c.close()


def test_agent_flags_reach_the_collector(trees, docker_api):
    sock, _ = docker_api
    port = free_port()
    agent = CliProcess(["agent", "--listen", f"127.0.0.1:{port}", "--interval", "1",
                        "--collector.enable", "containers",
                        "--collector.containers.cgroup-root", str(trees.base / "cgroup" / "v2"),
                        "--collector.containers.docker-socket", sock,
                        "--collector.containers.max-containers", "50"])
    try:
        r = wait_http(f"http://127.0.0.1:{port}/metrics",
                      pred=lambda r: "container_memory_usage_bytes{" in r.text)
        assert (f'container_memory_usage_bytes{{id="/system.slice/docker-{A}.scope",name="web"}} '
                "1.048576e+08") in r.text
        assert "autobot_containers_truncated 0.0" in r.text
    finally:
        agent.stop()


def test_hub_config_options_reach_the_collector(trees):
    from autobot_monitor.config.models import CollectorsConfig

    cfg = CollectorsConfig(containers={"cgroup_root": str(trees.base / "cgroup" / "v1"),
                                       "sockets": [], "max_containers": 2})
    c = ContainersCollector(trees.ctx({"containers": cfg.containers.model_dump()}))
    assert c.max_containers == 2 and c.namer.sockets == [] and c.own_cgroup
    assert len({k[0] for k in by_id(c.collect(), "container_cpu_usage_seconds_total")}) == 2
    with pytest.raises(ValueError):
        CollectorsConfig(containers={"max_containers": 0})


def test_cpu_percent_is_the_usage_delta_over_the_monotonic_interval(trees):
    rel = "system.slice/system-getty.slice/getty@tty1.service"
    stat = trees.base / "cgroup" / "v2" / rel / "cpu.stat"
    text = stat.read_text()
    usage = next(int(ln.split()[1]) for ln in text.splitlines() if ln.startswith("usage_usec"))
    c = ContainersCollector(trees.ctx({"containers": {
        "cgroup_root": str(trees.base / "cgroup" / "v2"), "own_cgroup": False, "sockets": []}}))
    try:
        assert by_id(c.collect(), "autobot_container_cpu_percent") == {}  # no previous reading
        trees.clock.advance(10)
        stat.write_text(text.replace(f"usage_usec {usage}", f"usage_usec {usage + 2_500_000}"))
        pct = {k[0]: v for k, v in by_id(c.collect(), "autobot_container_cpu_percent").items()}
        assert pct["/" + rel] == pytest.approx(25.0)  # 2.5 CPU-seconds in 10 s
        trees.clock.advance(10)
        stat.write_text(text.replace(f"usage_usec {usage}", "usage_usec 5"))  # counter went down
        pct = {k[0]: v for k, v in by_id(c.collect(), "autobot_container_cpu_percent").items()}
        assert "/" + rel not in pct
    finally:
        c.close()
