"""Network protocol statistics from ``/proc/net/netstat``, ``/proc/net/snmp`` and
``/proc/net/snmp6``, exported like node_exporter's ``netstat`` collector."""

from __future__ import annotations

import math
from collections.abc import Callable

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext, CounterDelta
from .procutil import MAX_FILE_BYTES, DynamicSpecs, field_filter

#: node_exporter 1.5's ``--collector.netstat.fields`` default.
DEFAULT_FIELDS = (
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$")

#: Fields the default filter passes on a usual kernel (declared so docs and queries know them).
_COMMON = (
    "Icmp6_InErrors", "Icmp6_InMsgs", "Icmp6_OutMsgs", "Icmp_InErrors", "Icmp_InMsgs",
    "Icmp_OutMsgs", "Ip6_InOctets", "Ip6_OutOctets", "IpExt_InOctets", "IpExt_OutOctets",
    "Ip_Forwarding", "TcpExt_ListenDrops", "TcpExt_ListenOverflows", "TcpExt_SyncookiesFailed",
    "TcpExt_SyncookiesRecv", "TcpExt_SyncookiesSent", "TcpExt_TCPSynRetrans",
    "TcpExt_TCPTimeouts", "Tcp_ActiveOpens", "Tcp_CurrEstab", "Tcp_InErrs", "Tcp_InSegs",
    "Tcp_OutRsts", "Tcp_OutSegs", "Tcp_PassiveOpens", "Tcp_RetransSegs", "Udp6_InDatagrams",
    "Udp6_InErrors", "Udp6_NoPorts", "Udp6_OutDatagrams", "Udp6_RcvbufErrors",
    "Udp6_SndbufErrors", "UdpLite6_InErrors", "UdpLite_InErrors", "Udp_InDatagrams",
    "Udp_InErrors", "Udp_NoPorts", "Udp_OutDatagrams", "Udp_RcvbufErrors", "Udp_SndbufErrors",
)


def _any_key(key: str) -> bool:
    return True


def _help(key: str) -> str:
    return f"Statistic {key.replace('_', '', 1)}."


class NetstatCollector(Collector):
    """Emits ``node_netstat_<Protocol>_<Field>`` (untyped, no labels, the raw kernel figure:
    counters such as ``Tcp_InSegs`` and gauges such as ``Tcp_CurrEstab`` alike, as node_exporter
    does) for every field whose ``<Protocol>_<Field>`` matches the ``fields`` option (an RE2
    expression, searched; default :data:`DEFAULT_FIELDS`, node_exporter 1.5's).

    Sources: ``/proc/net/netstat`` and ``/proc/net/snmp`` (pairs of lines ``Proto: names...`` /
    ``Proto: values...``) and ``/proc/net/snmp6`` (``Ip6InOctets  128``: the protocol is the
    name up to its first ``6``). A missing file contributes nothing; a header/value pair whose
    lengths differ, a value that is not a number and a name that is not a metric name are
    skipped. Never raises for odd input.

    Derived, whatever the ``fields`` option: ``autobot_tcp_retransmit_percent``, the segments
    retransmitted (``Tcp_RetransSegs``) per 100 segments sent (``Tcp_OutSegs``, which counts
    retransmissions too) since the previous call; absent on the first call, when no segment was
    sent or a counter went down.
    """

    name = "netstat"
    isolate = False
    DYNAMIC_PREFIXES = ("node_netstat_",)
    SPECS = tuple(MetricSpec(f"node_netstat_{k}", "untyped", _help(k)) for k in _COMMON) + (
        MetricSpec("autobot_tcp_retransmit_percent", "gauge",
                   "TCP segments retransmitted per 100 segments sent since the previous "
                   "collection.", "percent"),)

    _RATIO = ("Tcp_RetransSegs", "Tcp_OutSegs")

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._match = field_filter(self.options.get("fields"), DEFAULT_FIELDS, "netstat")
        self._specs = DynamicSpecs(self.SPECS, "untyped", _help)
        self._delta = CounterDelta()
        self._plans: dict[str, tuple[str, int, list[tuple[int, str]]]] = {}
        self._snmp6_keys: dict[str, str | None] = {}

    def _wanted(self, key: str) -> bool:
        return key in self._RATIO or self._match(key)

    def collect(self) -> list[MetricFamily]:
        stats: dict[str, float] = {}
        for rel in ("net/netstat", "net/snmp"):
            text = self.files.read_bounded(self.ctx.proc(rel), MAX_FILE_BYTES)
            if text is not None:
                stats.update(parse_paired(text, self._wanted, self._plans))
        text = self.files.read_bounded(self.ctx.proc("net/snmp6"), MAX_FILE_BYTES)
        if text is not None:
            stats.update(parse_snmp6(text, self._match, self._snmp6_keys))
        out = self._retransmits(stats)
        for key in self._RATIO:
            if key in stats and not self._match(key):
                del stats[key]
        for key in sorted(stats):
            spec = self._specs.get(f"node_netstat_{key}", key)
            if spec is None:
                continue
            fam = spec.family()
            fam.add(stats[key])
            out.append(fam)
        return out

    def _retransmits(self, stats: dict[str, float]) -> list[MetricFamily]:
        now = self.ctx.clock.monotonic()
        rates = [self._delta.update(k, stats[k], now) if k in stats else None
                 for k in self._RATIO]
        retrans, sent = rates
        if retrans is None or sent is None or sent <= 0:
            return []
        fam = self.spec("autobot_tcp_retransmit_percent").family()
        fam.add(min(100.0, retrans * 100.0 / sent))
        return [fam]


def parse_paired(text: str, want: Callable[[str], bool] = _any_key,
                 plans: dict[str, tuple[str, int, list[tuple[int, str]]]] | None = None
                 ) -> dict[str, float]:
    """``{"Proto_Field": value}`` for the keys ``want`` accepts, from the header/value line
    pairs of ``/proc/net/netstat`` or ``/proc/net/snmp``. A pair whose protocols or lengths
    differ is skipped. ``plans``: a collector's cache of what each header line picks (the
    kernel's header lines do not change; at most 64 kept), so a cycle only reads values."""
    out: dict[str, float] = {}
    lines = text.splitlines()
    for names_line, values_line in zip(lines[::2], lines[1::2], strict=False):
        plan = None if plans is None else plans.get(names_line)
        if plan is None:
            names = names_line.split()
            if len(names) < 2 or not names[0].endswith(":"):
                continue
            proto = names[0][:-1]
            keys = ((i, f"{proto}_{n}") for i, n in enumerate(names[1:], 1))
            plan = (names[0], len(names), [(i, k) for i, k in keys if want(k)])
            if plans is not None and len(plans) < 64:
                plans[names_line] = plan
        head, width, picks = plan
        values = values_line.split()
        if len(values) != width or values[0] != head:
            continue
        for i, key in picks:
            if (f := _number(values[i])) is not None:
                out[key] = f
    return out


def parse_snmp6(text: str, want: Callable[[str], bool] = _any_key,
                keys: dict[str, str | None] | None = None) -> dict[str, float]:
    """``{"Ip6_InOctets": value}`` for the keys ``want`` accepts, from ``/proc/net/snmp6``
    lines ``Ip6InOctets  128``; a line whose name has no ``6`` or whose value is not a number
    is skipped. ``keys``: a collector's cache of each kernel name's key (None: not wanted), at
    most 1024 kept."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        name = fields[0]
        if keys is not None and name in keys:
            key = keys[name]
        else:
            six = name.find("6")
            key = f"{name[:six + 1]}_{name[six + 1:]}" if 0 < six < len(name) - 1 else None
            key = key if key is not None and want(key) else None
            if keys is not None and len(keys) < 1024:
                keys[name] = key
        if key is not None and (f := _number(fields[1])) is not None:
            out[key] = f
    return out


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None
