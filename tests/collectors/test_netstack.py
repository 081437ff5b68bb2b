"""netstat, sockstat, softnet, arp, udp_queues and conntrack collectors: recorded tree, odd
input, missing files, this machine's /proc."""

from __future__ import annotations

from autobot_monitor.collectors.arp import ArpCollector
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.netstat import NetstatCollector
from autobot_monitor.collectors.sockstat import SockstatCollector, page_size
from autobot_monitor.collectors.softnet import SoftnetCollector
from autobot_monitor.collectors.sysctl import ConntrackCollector
from autobot_monitor.collectors.udp_queues import UdpQueuesCollector


def test_netstat_recorded_tree_default_fields(recorded):
    fams = NetstatCollector(recorded.ctx()).collect()
    names = recorded.names(fams)
    assert len(names) == 40
    assert recorded.value(fams, "node_netstat_Ip_Forwarding") == 1
    assert recorded.value(fams, "node_netstat_Tcp_CurrEstab") == 2
    assert recorded.value(fams, "node_netstat_Ip6_OutOctets") > 0  # from snmp6
    assert "node_netstat_TcpExt_ListenDrops" in names  # from netstat
    assert "node_netstat_Ip_InReceives" not in names  # filtered out by default
    assert {f.type for f in fams} == {"untyped"}
    assert next(f for f in fams if f.name == "node_netstat_IpExt_InOctets").help == \
        "Statistic IpExtInOctets."


def test_netstat_fields_option_selects_other_fields(recorded):
    fams = NetstatCollector(recorded.ctx({"netstat": {"fields": "^Ip_"}})).collect()
    assert "node_netstat_Ip_InReceives" in recorded.names(fams)
    assert all(n.startswith("node_netstat_Ip_") for n in recorded.names(fams))


def test_netstat_invalid_fields_regex_falls_back_to_the_default(recorded):
    fams = NetstatCollector(recorded.ctx({"netstat": {"fields": "(["}})).collect()
    assert len(fams) == 40


def test_netstat_garbage_pairs_and_values_skipped(host):
    host.proc("net/netstat", "TcpExt: ListenDrops ListenOverflows\nTcpExt: 5\n"
                             "IpExt: InOctets OutOctets\nIpExt: 10 x\n")
    host.proc("net/snmp", "Tcp: InSegs\nUdp: 4\nUdp: InErrors\nUdp: 7\n")
    host.proc("net/snmp6", "Ip6InOctets 99\nnosix 1\nUdp6InErrors\nIcmp6InMsgs three\n")
    fams = NetstatCollector(host.ctx()).collect()
    assert {s.name: s.value for f in fams for s in f.samples} == {
        "node_netstat_IpExt_InOctets": 10, "node_netstat_Ip6_InOctets": 99,
        "node_netstat_Udp_InErrors": 7}  # the pair after a broken one still counts


def test_netstat_without_files_emits_nothing(host):
    assert NetstatCollector(host.ctx()).collect() == []
    host.proc("net/snmp6", "Udp6InDatagrams 3\n")  # IPv4 tables gone, IPv6 still there
    fams = NetstatCollector(host.ctx()).collect()
    assert host.value(fams, "node_netstat_Udp6_InDatagrams") == 3


def test_sockstat_recorded_tree(recorded):
    fams = SockstatCollector(recorded.ctx()).collect()
    v = recorded.value
    assert v(fams, "node_sockstat_sockets_used") == 39
    assert v(fams, "node_sockstat_TCP_mem") == 38
    assert v(fams, "node_sockstat_TCP_mem_bytes") == 38 * page_size()
    assert v(fams, "node_sockstat_FRAG_memory") == 0
    assert v(fams, "node_sockstat_TCP6_inuse") is not None
    assert "node_sockstat_TCP6_mem" not in recorded.names(fams)
    assert next(f for f in fams if f.name == "node_sockstat_TCP_tw").help == \
        "Number of TCP sockets in state tw."


def test_sockstat_garbage_lines_and_missing_v6(host):
    host.proc("net/sockstat", "sockets: used 9\nTCP: inuse 3 orphan\nUDP: inuse x\n"
                              "RAW inuse 1\nFRAG: inuse 0 memory 4\nFRAG: inuse 9\n")
    fams = SockstatCollector(host.ctx()).collect()
    assert {s.name: s.value for f in fams for s in f.samples} == {
        "node_sockstat_sockets_used": 9, "node_sockstat_FRAG_inuse": 0,
        "node_sockstat_FRAG_memory": 4}


def test_sockstat6_used_line_is_not_reported(host):
    host.proc("net/sockstat6", "sockets: used 5\nTCP6: inuse 1\n")
    fams = SockstatCollector(host.ctx()).collect()
    assert host.names(fams) == {"node_sockstat_TCP6_inuse"}


def test_softnet_recorded_tree(recorded):
    fams = SoftnetCollector(recorded.ctx()).collect()
    assert recorded.values(fams, "node_softnet_processed_total") == {
        (("cpu", "0"),): 0x4FE, (("cpu", "1"),): 0x224F}
    assert recorded.value(fams, "node_softnet_dropped_total", cpu="1") == 0
    assert {f.type for f in fams} == {"counter"}


def test_softnet_short_or_garbage_line_skipped_index_kept(host):
    cols = " ".join(["00000000"] * 10)
    host.proc("net/softnet_stat", f"0000000a {cols}\nshort 1 2\nzz {cols}\n0000000b {cols}\n")
    fams = SoftnetCollector(host.ctx()).collect()
    assert host.values(fams, "node_softnet_processed_total") == {
        (("cpu", "0"),): 10, (("cpu", "3"),): 11}


def test_arp_counts_lines_per_device(recorded):
    fams = ArpCollector(recorded.ctx()).collect()
    assert recorded.values(fams, "node_arp_entries") == {
        (("device", "eth0"),): 2, (("device", "wlan0"),): 1}


def test_arp_device_filters(recorded):
    inc = ArpCollector(recorded.ctx({"arp": {"device_include": "^wl"}})).collect()
    assert recorded.values(inc, "node_arp_entries") == {(("device", "wlan0"),): 1}
    exc = ArpCollector(recorded.ctx({"arp": {"device_exclude": "^wl"}})).collect()
    assert recorded.values(exc, "node_arp_entries") == {(("device", "eth0"),): 2}


def test_arp_empty_table_or_missing_file_emits_nothing(host):
    assert ArpCollector(host.ctx()).collect() == []
    host.proc("net/arp", "IP address       HW type     Flags       HW address            Mask     "
                         "Device\n")
    assert ArpCollector(host.ctx()).collect() == []


def test_udp_queues_recorded_tree(recorded):
    fams = UdpQueuesCollector(recorded.ctx()).collect()
    assert recorded.values(fams, "node_udp_queues") == {
        (("ip", "v4"), ("queue", "tx")): 0x100, (("ip", "v4"), ("queue", "rx")): 0x9C0,
        (("ip", "v6"), ("queue", "tx")): 0, (("ip", "v6"), ("queue", "rx")): 0x340}


def test_udp_queues_garbage_line_skipped_and_missing_v6(host):
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    row = " 1: 0100007F:C239 00000000:0000 07 {} 00:00000000 00000000 0 0 26541 2 0 0\n"
    host.proc("net/udp", head + row.format("00000010:00000020") + row.format("nocolon")
              + row.format("zz:01") + "short line\n")
    fams = UdpQueuesCollector(host.ctx()).collect()
    assert host.values(fams, "node_udp_queues") == {
        (("ip", "v4"), ("queue", "tx")): 16, (("ip", "v4"), ("queue", "rx")): 32}


def test_udp_queues_table_over_the_cap_is_absent(host, monkeypatch):
    import autobot_monitor.collectors.udp_queues as uq

    monkeypatch.setattr(uq, "MAX_SOCKETS", 2)
    row = " 1: 0100007F:C239 00000000:0000 07 00000001:00000001 00:0 0 0 0 1 2 0 0\n"
    host.proc("net/udp", "header\n" + row * 3)
    host.proc("net/udp6", "header\n" + row * 2)
    fams = UdpQueuesCollector(host.ctx()).collect()
    assert set(host.values(fams, "node_udp_queues")) == {
        (("ip", "v6"), ("queue", "tx")), (("ip", "v6"), ("queue", "rx"))}


def test_conntrack_recorded_tree_sums_cpus(recorded):
    fams = ConntrackCollector(recorded.ctx()).collect()
    v = recorded.value
    assert v(fams, "node_nf_conntrack_entries_limit") == 262144
    assert v(fams, "node_nf_conntrack_stat_found") == 0x10 + 0x5
    assert v(fams, "node_nf_conntrack_stat_drop") == 3 + 6
    assert v(fams, "node_nf_conntrack_stat_search_restart") == 2
    assert len(fams) == 10


def test_conntrack_not_loaded_emits_nothing(host):
    assert ConntrackCollector(host.ctx()).collect() == []


def test_conntrack_malformed_stat_drops_only_the_stats(recorded):
    recorded.proc("net/stat/nf_conntrack", "header\n00000001 00000002\n")
    fams = ConntrackCollector(recorded.ctx()).collect()
    assert recorded.names(fams) == {"node_nf_conntrack_entries", "node_nf_conntrack_entries_limit"}


def test_real_machine_network_families_are_sane():
    ctx = CollectorContext()
    fams = [f for c in (NetstatCollector, SockstatCollector, SoftnetCollector, UdpQueuesCollector)
            for f in c(ctx).collect()]
    names = {f.name for f in fams}
    assert {"node_netstat_Tcp_InSegs", "node_netstat_Udp_InDatagrams",
            "node_sockstat_sockets_used", "node_sockstat_TCP_inuse",
            "node_softnet_processed_total", "node_udp_queues"} <= names
    assert all(s.value >= 0 for f in fams if f.name != "node_netstat_Tcp_MaxConn"
               for s in f.samples)
    cpus = {s.label_dict["cpu"] for f in fams if f.name == "node_softnet_processed_total"
            for s in f.samples}
    assert cpus and cpus <= {str(i) for i in range(len(cpus))}


def _snmp(retrans: int, out: int) -> str:
    return ("Tcp: RtoAlgorithm ActiveOpens OutSegs RetransSegs\n"
            f"Tcp: 1 5 {out} {retrans}\n")


def test_tcp_retransmit_percent_from_deltas_whatever_the_fields_option(host):
    c = NetstatCollector(host.ctx({"netstat": {"fields": "^Ip_"}}))
    host.proc("net/snmp", _snmp(10, 1000))
    assert c.collect() == []  # first reading: no delta; filtered fields stay out
    host.clock.advance(5)
    host.proc("net/snmp", _snmp(13, 1100))
    fams = c.collect()
    assert [(f.name, f.samples[0].value) for f in fams] == [("autobot_tcp_retransmit_percent", 3.0)]
    host.clock.advance(5)
    assert c.collect() == []  # nothing sent: no ratio (not 0 %)
    host.clock.advance(5)
    host.proc("net/snmp", _snmp(1, 5))  # counters went down
    assert c.collect() == []
