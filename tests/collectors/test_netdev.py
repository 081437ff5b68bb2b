"""netdev collector: /proc/net/dev counters, rx_nohandler and derived rates."""

from __future__ import annotations

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.netdev import NetdevCollector, parse_line
from autobot_monitor.errors import CollectorError


def test_recorded_counters_and_operstate(recorded):
    fams = NetdevCollector(recorded.ctx()).collect()
    v = lambda name, dev="eth0": recorded.value(fams, name, device=dev)  # noqa: E731
    assert v("node_network_receive_bytes_total") == 987654321
    assert v("node_network_receive_packets_total") == 800000
    assert v("node_network_receive_errs_total") == 1
    assert v("node_network_receive_drop_total") == 2
    assert v("node_network_transmit_bytes_total") == 123456789
    assert v("node_network_transmit_packets_total") == 500000
    assert v("node_network_transmit_errs_total") == 3
    assert v("node_network_transmit_drop_total") == 4
    assert v("node_network_receive_multicast_total") == 1000
    assert v("node_network_receive_bytes_total", "lo") == 5000000
    # link state is netclass's now; no statistics/rx_nohandler recorded: absent, not 0
    assert "node_network_up" not in recorded.names(fams)
    assert "node_network_receive_nohandler_total" not in recorded.names(fams)


def test_all_sixteen_fields_in_order_and_nohandler_from_sysfs(host):
    host.proc("net/dev", host.NETDEV_HEADER
              + "  eth0: " + " ".join(str(i + 1) for i in range(16)) + "\n")
    host.sys("class/net/eth0/statistics/rx_nohandler", "17\n")
    fams = NetdevCollector(host.ctx()).collect()
    got = {f.name: f.samples[0].value for f in fams if f.name.startswith("node_")}
    want = ["receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo",
            "receive_frame", "receive_compressed", "receive_multicast", "transmit_bytes",
            "transmit_packets", "transmit_errs", "transmit_drop", "transmit_fifo",
            "transmit_colls", "transmit_carrier", "transmit_compressed", "receive_nohandler"]
    assert got == {f"node_network_{n}_total": i + 1 for i, n in enumerate(want)}
    assert all(f.type == "counter" for f in fams if f.name.startswith("node_"))


def test_first_sample_of_a_new_interface_has_no_rate(host):
    host.proc("net/dev", host.netdev_text({"eth0": (1000, 500)}))
    c = NetdevCollector(host.ctx())
    assert "autobot_network_receive_bytes_per_second" not in host.names(c.collect())
    host.proc("net/dev", host.netdev_text({"eth0": (3000, 1500), "wg0": (10**9, 10**9)}))
    host.clock.advance(2)
    fams = c.collect()
    assert host.value(fams, "autobot_network_receive_bytes_per_second", device="eth0") == 1000
    assert host.value(fams, "autobot_network_transmit_bytes_per_second", device="eth0") == 500
    assert host.value(fams, "autobot_network_receive_bytes_per_second", device="wg0") is None
    assert host.value(fams, "node_network_receive_bytes_total", device="wg0") == 10**9


def test_interface_vanishing_between_reads(host):
    host.proc("net/dev", host.netdev_text({"eth0": (1000, 0), "veth1": (5000, 0)}))
    c = NetdevCollector(host.ctx())
    c.collect()
    host.proc("net/dev", host.netdev_text({"eth0": (2000, 0)}))
    host.clock.advance(1)
    fams = c.collect()
    assert {dict(k)["device"] for k in host.values(fams, "node_network_receive_bytes_total")} == {"eth0"}
    assert host.value(fams, "autobot_network_receive_bytes_per_second", device="eth0") == 1000
    # a new interface reusing the name starts fresh: no rate against the forgotten value
    host.proc("net/dev", host.netdev_text({"eth0": (3000, 0), "veth1": (9000, 0)}))
    host.clock.advance(1)
    assert host.value(c.collect(), "autobot_network_receive_bytes_per_second", device="veth1") is None


def test_counter_lower_than_before_gives_no_rate(host):
    host.proc("net/dev", host.netdev_text({"eth0": (4_294_967_000, 10**12)}))  # near 32-bit wrap
    c = NetdevCollector(host.ctx())
    c.collect()
    host.proc("net/dev", host.netdev_text({"eth0": (200, 10**12 + 100)}))  # wrapped / reset
    host.clock.advance(5)
    fams = c.collect()
    assert host.value(fams, "autobot_network_receive_bytes_per_second", device="eth0") is None
    assert host.value(fams, "autobot_network_transmit_bytes_per_second", device="eth0") == 20
    host.proc("net/dev", host.netdev_text({"eth0": (700, 10**12 + 100)}))
    host.clock.advance(5)
    assert host.value(c.collect(), "autobot_network_receive_bytes_per_second", device="eth0") == 100


def test_wall_clock_stepping_back_does_not_disturb_rates(host):
    host.proc("net/dev", host.netdev_text({"eth0": (0, 0)}))
    c = NetdevCollector(host.ctx())
    c.collect()
    host.clock.advance(10)
    host.clock.set_wall(1_000_000_000.0)
    host.proc("net/dev", host.netdev_text({"eth0": (12_500, 0)}))
    fams = c.collect()
    assert host.value(fams, "autobot_network_receive_bytes_per_second", device="eth0") == 1250


def test_interface_name_with_colon(host):
    host.proc("net/dev", host.netdev_text({"eth0:1": (100, 200), "br:lan": (7, 8)}))
    host.sys("class/net/eth0:1/statistics/rx_nohandler", "5\n")
    fams = NetdevCollector(host.ctx()).collect()
    assert host.value(fams, "node_network_receive_bytes_total", device="eth0:1") == 100
    assert host.value(fams, "node_network_transmit_bytes_total", device="br:lan") == 8
    assert host.value(fams, "node_network_receive_nohandler_total", device="eth0:1") == 5
    assert host.value(fams, "node_network_receive_nohandler_total", device="br:lan") is None


def test_counter_glued_to_the_colon():
    line = "  eth0:4294967296 10 0 0 0 0 0 0 5 1 0 0 0 0 0 0"
    assert parse_line(line) == ("eth0", [4294967296, 10, 0, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0, 0, 0, 0])


def test_garbage_and_truncated_lines_skipped(host):
    host.proc("net/dev", host.netdev_text({"eth0": (1, 2)}, extra="  bad: 1 2 3\n junk: a b c d e f g h i j k l m n o p\n"
                                          "no colon here 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\x00\n"))
    fams = NetdevCollector(host.ctx()).collect()
    assert {dict(k)["device"] for k in host.values(fams, "node_network_receive_bytes_total")} == {"eth0"}


def test_device_exclude_option(recorded):
    fams = NetdevCollector(recorded.ctx({"netdev": {"device_exclude": "^lo$"}})).collect()
    devices = {dict(k)["device"] for k in recorded.values(fams, "node_network_receive_bytes_total")}
    assert devices == {"eth0", "wlan0"}


def test_missing_file_raises(host):
    with pytest.raises(CollectorError, match="dev"):
        NetdevCollector(host.ctx()).collect()


def host_devices(fams):
    return {s.label_dict["device"] for f in fams if f.name == "node_network_receive_bytes_total"
            for s in f.samples}


def test_real_machine_collects_plausible_values():
    c = NetdevCollector(CollectorContext())
    fams = c.collect()
    assert host_devices(fams)
    fams = c.collect()
    assert all(s.value >= 0 for f in fams for s in f.samples)
