"""netclass collector: /sys/class/net/<iface>/ properties, as node_exporter's netclass."""

from __future__ import annotations

import os

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.netclass import NetclassCollector, parse_int

ETH0 = {"operstate": "up", "address": "02:fc:00:00:00:01", "broadcast": "ff:ff:ff:ff:ff:ff",
        "duplex": "full", "ifalias": "", "addr_assign_type": "0", "carrier": "1",
        "carrier_changes": "2", "carrier_up_count": "1", "carrier_down_count": "1",
        "dev_id": "0x0", "dormant": "0", "flags": "0x1003", "ifindex": "4", "iflink": "4",
        "link_mode": "0", "mtu": "1400", "name_assign_type": "1", "netdev_group": "0",
        "tx_queue_len": "1000", "type": "1", "speed": "10000"}


def _iface(host, name, files):
    for f, text in files.items():
        host.sys(f"class/net/{name}/{f}", text + "\n")


def test_every_property_of_an_interface(host):
    _iface(host, "eth0", ETH0)
    fams = NetclassCollector(host.ctx()).collect()
    v = lambda name: host.value(fams, name, device="eth0")  # noqa: E731
    assert v("node_network_up") == 1
    assert host.value(fams, "node_network_info", device="eth0", address="02:fc:00:00:00:01",
                      broadcast="ff:ff:ff:ff:ff:ff", duplex="full", operstate="up",
                      ifalias="") == 1
    assert v("node_network_flags") == 0x1003
    assert v("node_network_mtu_bytes") == 1400
    assert v("node_network_speed_bytes") == 10000 * 125000  # Mbit/s -> bytes/s
    assert v("node_network_carrier_changes_total") == 2
    assert v("node_network_carrier_up_changes_total") == 1
    assert v("node_network_iface_id") == 4
    assert v("node_network_iface_link_mode") == 0
    assert v("node_network_transmit_queue_length") == 1000
    assert v("node_network_protocol_type") == 1
    assert v("node_network_net_dev_group") == 0
    types = {f.name: f.type for f in fams}
    assert types["node_network_carrier_changes_total"] == "counter"
    assert types["node_network_info"] == "info"
    assert types["node_network_mtu_bytes"] == "gauge"


def test_down_link_unknown_speed_and_unreadable_files_are_absent(host):
    files = dict(ETH0, operstate="down", speed="-1", carrier="", duplex="")
    del files["ifalias"]
    _iface(host, "ifb0", files)
    # a file the driver refuses (EINVAL on read) reads as a directory here: unreadable all the same
    os.mkdir(host.sysfs / "class/net/ifb0/dormant.d")
    fams = NetclassCollector(host.ctx()).collect()
    assert host.value(fams, "node_network_up", device="ifb0") == 0
    assert host.value(fams, "node_network_speed_bytes", device="ifb0") is None  # never -125000
    assert host.value(fams, "node_network_carrier", device="ifb0") is None
    assert host.value(fams, "node_network_info", device="ifb0", address="02:fc:00:00:00:01",
                      broadcast="ff:ff:ff:ff:ff:ff", duplex="", operstate="down",
                      ifalias="") == 1


def test_regular_files_vanished_and_excluded_entries_skipped(host):
    _iface(host, "eth0", ETH0)
    _iface(host, "veth1", ETH0)
    host.sys("class/net/bonding_masters", "bond0\n")
    (host.sysfs / "class/net/gone").mkdir()  # no operstate: vanished mid-read
    c = NetclassCollector(host.ctx({"netclass": {"device_exclude": "^veth"}}))
    assert c.devices() == ["eth0", "gone"]
    devices = {s.label_dict["device"] for f in c.collect() for s in f.samples}
    assert devices == {"eth0"}


def test_missing_class_net_emits_nothing(host):
    assert NetclassCollector(host.ctx()).collect() == []


def test_parse_int_bases_and_garbage():
    assert parse_int("0x1003\n") == 4099
    assert parse_int(" 1500 ") == 1500
    assert parse_int("-1") == -1
    assert parse_int("") is None and parse_int("up") is None and parse_int(None) is None


def test_real_machine_has_loopback():
    fams = NetclassCollector(CollectorContext()).collect()
    assert {s.label_dict["device"] for f in fams if f.name == "node_network_mtu_bytes"
            for s in f.samples} >= {"lo"}
