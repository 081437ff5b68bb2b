"""Many hosts for real: three agents, each in its own network namespace on a bridge, a hub in a
fourth, all started by the test. Agents need a bearer token and take their peers from the hub's
own config file (``--peers-file``); h1 also reaches h3 over a second, emulated link (userspace
TAP forwarder with a fixed delay and deterministic probe loss) under the peer name ``slow``.

Order matters (one lab for the module): mesh, emulated link, throughput, link down/up, agent
kill/restart. Traffic stays inside the lab's namespaces (addresses 10.x.y.0/24 picked per run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from netlab import Lab, can_make_netns

from support import wait_until

pytestmark = [pytest.mark.timeout(240)]

SKIP = can_make_netns()
if SKIP:
    pytest.skip(SKIP, allow_module_level=True)

HOSTS = ("h1", "h2", "h3")
TOKEN = "lab-token-" + os.urandom(8).hex()
ONE_WAY_DELAY_MS = 15.0  # the emulated link adds 2 x this to a round trip
DROP_EVERY = 5  # one probe in five is lost: loss 0.2
HUB = "http://127.0.0.1:9090"


def agent_args(lab: Lab, host: str, listen: str, extra: list[str]) -> list[str]:
    return ["agent", "--listen", listen, "--token-file", lab.token_file, "--name", host,
            "--peers-file", lab.config, "--interval", "1", "--mesh-interval", "0.1",
            "--mesh-timeout", "0.5", "--mesh-window", "50", "--collector.enable", "cpu",
            "--collector.enable", "netdev", "--collector.enable", "loadavg", *extra]


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    client = None
    try:
        addrs = {h: lab.add_host(h, i + 1) for i, h in enumerate(HOSTS)}
        lab.add_host("hub", 250)
        lab.addrs = addrs
        lab.token_file = os.path.join(lab.tmp, "token")
        with open(lab.token_file, "w") as f:
            f.write(TOKEN + "\n")
        lab.config = os.path.join(lab.tmp, "hub.yaml")
        hosts = "\n".join(f"  - {{name: {h}, address: '{a}:9100', role: vm{i}, priority: high, "
                          f"token_env: LAB_AGENT_TOKEN}}" for i, (h, a) in enumerate(addrs.items()))
        with open(lab.config, "w") as f:
            f.write(f"monitoring_interval: 1\ndashboard_enabled: false\n"
                    f"local_host: {{enabled: false}}\nscrape: {{timeout: 0.5, down_after: 2}}\n"
                    f"hosts:\n{hosts}\n")
        # second link h1 <-> h3 through the userspace emulator
        a, b = lab.subnet.split(".")[1:]
        slow_net = f"10.{a}.{(int(b) + 1) % 256}"
        em = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "netem.py"),
                               lab.ns("h1"), f"{slow_net}.1/24", lab.ns("h3"), f"{slow_net}.3/24",
                               "--delay-ms", str(ONE_WAY_DELAY_MS), "--drop-every", str(DROP_EVERY)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lab.procs.append((em, open(os.devnull, "w")))  # noqa: SIM115 - closed by lab.close
        assert em.stdout.readline().strip() == "ready", "netem did not start"
        lab.agent_argv = {
            "h1": agent_args(lab, "h1", f"{addrs['h1']}:9100", ["--peer", f"slow={slow_net}.3:9100"]),
            "h2": agent_args(lab, "h2", f"{addrs['h2']}:9100", []),
            "h3": agent_args(lab, "h3", "0.0.0.0:9100", []),  # also answers on the slow link
        }
        lab.agents = {h: lab.cli(h, lab.agent_argv[h]) for h in HOSTS}
        lab.cli("hub", ["start", "--config", lab.config, "--data-dir", os.path.join(lab.tmp, "d")],
                env={"LAB_AGENT_TOKEN": TOKEN}, log_name="hub")
        client = lab.client("hub")
        lab.hub = client
        wait_until(lambda: all(h["up"] for h in current(lab)["hosts"].values())
                   and len(current(lab)["hosts"]) == 3, 60, 0.3,
                   "all three hosts up (hub log: see lab tmp)")
        yield lab
    except BaseException:
        print("hub log:\n" + lab.log("hub"))
        for h in HOSTS:
            print(f"{h} log:\n" + lab.log(h))
        raise
    finally:
        if client is not None:
            client.close()
        lab.close()


def wait_cycles(lab, n: int) -> None:
    """Return once the hub has finished ``n`` more cycles."""
    def cycles() -> int:
        return lab.hub.get(HUB + "/api/system/status").json()["cycles"]
    target = cycles() + n
    wait_until(lambda: cycles() >= target, 15 * n, 0.1, f"{n} more hub cycles")


def current(lab) -> dict:
    return lab.hub.get(HUB + "/api/metrics/current").json()


def firing(lab, rule: str, **labels) -> list[dict]:
    alerts = lab.hub.get(HUB + "/api/alerts", params={"state": "firing"}).json()["alerts"]
    return [a for a in alerts if a["rule"] == rule
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def transitions(lab, rule: str, host: str) -> list[str]:
    hist = lab.hub.get(HUB + "/api/alerts/history", params={"limit": 10000}).json()["transitions"]
    return [t["to"] for t in reversed(hist) if t.get("rule") == rule
            and t["labels"].get("host") == host]


def test_all_hosts_up_and_mesh_filled(lab):
    def mesh_ok():
        hosts = current(lab)["hosts"]
        for h in HOSTS:
            mesh = hosts[h]["mesh"]
            for peer in HOSTS:
                if peer == h:
                    assert peer not in mesh, "an agent probes itself"
                    continue
                for method in ("tcp", "icmp"):
                    row = mesh[peer][method]
                    if row["rtt_p50_seconds"] is None or row["loss_ratio"] is None:
                        return False
                    assert 0 < row["rtt_p50_seconds"] <= row["rtt_p99_seconds"], row
                    assert row["loss_ratio"] == 0, (h, peer, method, row)
        return hosts
    hosts = wait_until(mesh_ok, 30, 0.5, "mesh filled")
    assert set(hosts["h1"]["mesh"]) == {"h2", "h3", "slow"}
    # the CLI shows every host and the mesh
    out = subprocess.run(["ip", "netns", "exec", lab.ns("hub"), sys.executable, "-m",
                          "autobot_monitor.cli", "status", "--url", HUB],
                         capture_output=True, text=True, timeout=30).stdout
    assert "Latency mesh" in out and all(h in out for h in HOSTS), out
    # the exposition the hub re-serves carries the mesh per source host
    text = lab.hub.get(HUB + "/metrics").text
    mesh_lines = [ln for ln in text.splitlines() if ln.startswith("autobot_mesh_rtt_seconds{")]
    assert [ln for ln in mesh_lines if 'host="h2"' in ln and 'peer="h3"' in ln
            and 'quantile="0.5"' in ln], [ln for ln in text.splitlines() if "mesh" in ln][:8]


def test_emulated_delay_and_loss_are_reported(lab):
    injected_rtt = 2 * ONE_WAY_DELAY_MS / 1000
    injected_loss = 1 / DROP_EVERY

    def slow():
        m = current(lab)["hosts"]["h1"]["mesh"].get("slow") or {}
        rows = [m.get("tcp") or {}, m.get("icmp") or {}]
        return rows if all(r.get("rtt_p50_seconds") is not None for r in rows) else None
    def settled():  # 50-probe windows over a deterministic 1-in-5 drop: until they are full
        rows = slow()
        return rows if rows and all(abs(r["loss_ratio"] - injected_loss) <= 0.2 * injected_loss
                                    for r in rows) else None
    rows = wait_until(settled, 60, 0.5, "full probe windows over the emulated link")
    direct = current(lab)["hosts"]["h1"]["mesh"]["h3"]
    for method, row in zip(("tcp", "icmp"), rows, strict=True):
        print(f"emulated link {method}: {row}")
        # the delay is a floor on the round trip (less the estimator's 20 % slack); the same
        # pair's direct link is faster
        assert row["rtt_p50_seconds"] >= 0.8 * injected_rtt, (method, row)
        assert row["rtt_p50_seconds"] > direct[method]["rtt_p50_seconds"], (method, row, direct)
    # the default mesh rules fire for that path, and only for it
    wait_until(lambda: firing(lab, "PacketLoss", host="h1", peer="slow"), 20, 0.5, "PacketLoss")
    wait_until(lambda: firing(lab, "HighLatency", host="h1", peer="slow"), 20, 0.5, "HighLatency")
    assert not [a for a in firing(lab, "PacketLoss") if a["labels"]["peer"] != "slow"]


def test_throughput_between_agents_one_at_a_time(lab):
    h1, h2 = (f"http://{lab.addrs[h]}:9100" for h in ("h1", "h2"))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert lab.hub.post(h1 + "/api/v1/throughput", params={"peer": "h2"}).status_code == 401
    r = lab.hub.post(h1 + "/api/v1/throughput", params={"peer": "h2", "duration": "1"},
                     headers=auth)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["bytes"] > 0 and res["megabytes_per_second"] > 1 and "tcp-stream" in res["method"]
    assert lab.hub.post(h1 + "/api/v1/throughput", params={"peer": "nope"},
                        headers=auth).status_code == 400
    # while h2 streams to someone, a second test on h2 is refused with 409
    other = lab.client("hub")
    results = {}
    streaming = threading.Event()
    def slow_reader(c):  # holds the slot for the whole 2 s: TCP backpressure paces the agent
        with c.stream("GET", h2 + "/api/v1/throughput/stream", params={"duration": "2"},
                      headers=auth) as r:
            n = 0
            for chunk in r.iter_raw():
                n += len(chunk)
                streaming.set()
                time.sleep(0.01)  # a slow reader, on purpose
            return r.status_code, n
    t = threading.Thread(target=lambda: results.setdefault("first", other.run(slow_reader)))
    t.start()
    try:
        assert streaming.wait(15), "the first stream never started"
        busy = lab.hub.get(h2 + "/api/v1/throughput/stream", params={"duration": "1"},
                           headers=auth)
        assert busy.status_code == 409 and "running" in busy.json()["error"]
    finally:
        t.join(15)
        other.close()
    assert results["first"][0] == 200 and results["first"][1] > 0


def test_link_down_marks_host_down_once_and_recovers(lab):
    before = lab.hub.get(HUB + "/api/system/status").json()["cycles"]
    lab.set_link("h2", False)
    try:
        def down():
            st = lab.hub.get(HUB + "/api/system/status").json()
            return st if not st["hosts"]["h2"]["up"] else None
        st = wait_until(down, 15, 0.2, "h2 down")
        assert st["cycles"] - before <= 3, "not marked down within 3 scrape intervals"
        # the others keep their cadence: scraped in every cycle while h2 times out
        for _ in range(3):
            cur = current(lab)
            for h in ("h1", "h3"):
                assert cur["hosts"][h]["up"] and cur["hosts"][h]["last_seen"] == cur["timestamp"]
            wait_cycles(lab, 1)
        wait_until(lambda: firing(lab, "HostDown", host="h2"), 10, 0.2, "HostDown firing")
        wait_cycles(lab, 2)  # cycles that would have notified (and recorded) a second firing
        assert transitions(lab, "HostDown", "h2").count("firing") == 1
    finally:
        lab.set_link("h2", True)
    wait_until(lambda: current(lab)["hosts"]["h2"]["up"], 20, 0.2, "h2 back up")
    wait_until(lambda: not firing(lab, "HostDown", host="h2"), 15, 0.2, "HostDown resolved")
    assert transitions(lab, "HostDown", "h2")[-1] == "resolved"
    assert transitions(lab, "HostDown", "h2").count("firing") == 1


def test_agent_killed_then_restarted_counters_continue(lab):
    start = time.time()
    lab.agents["h3"].send_signal(signal.SIGKILL)
    lab.agents["h3"].wait(10)
    wait_until(lambda: not current(lab)["hosts"]["h3"]["up"], 15, 0.2, "h3 down")
    lab.agents["h3"] = lab.cli("h3", lab.agent_argv["h3"], log_name="h3-restarted")
    wait_until(lambda: current(lab)["hosts"]["h3"]["up"], 30, 0.2, "h3 up again")
    wait_cycles(lab, 3)  # a few cycles after the restart

    def series(metric: str, fn: str | None = None) -> list[float]:
        params = {"metric": metric, "match": "host=h3", "start": str(start - 30), "step": "1"}
        if fn:
            params["fn"] = fn
        r = lab.hub.get(HUB + "/api/metrics/history", params=params)
        assert r.status_code == 200, r.text
        return [v for s in r.json()["series"] for _, v in s["points"] if v is not None]
    probes = series("autobot_mesh_probes_total", "rate")
    assert probes and all(0 <= v <= 50 for v in probes), probes  # <= 10 probes/s per series
    rx = series("autobot_network_receive_bytes_per_second")
    assert rx and all(0 <= v < 1e10 for v in rx), rx
    cpu = series("autobot_cpu_busy_percent")
    assert cpu and all(0 <= v <= 100 for v in cpu)
    assert json.dumps(current(lab)["hosts"]["h3"]["mesh"])  # mesh back for the restarted agent
