"""Latency mesh: the agent probes its peers and exports RTT quantiles, jitter and loss per peer.

Each peer is probed every ``interval`` seconds (all peers concurrently, asynchronously, never on a
thread): ``tcp`` is one TCP connect to the peer's agent port (SYN / SYN-ACK round trip, timed with
:func:`time.perf_counter` around ``asyncio.open_connection``), ``icmp`` one ICMP echo through
icmplib where the process may open ICMP sockets (root: raw socket; otherwise datagram sockets when
``net.ipv4.ping_group_range`` covers the process's group; else ICMP is off and said so in the log).
A probe that fails or takes longer than ``timeout`` counts as lost.

Per peer and method the last ``window`` probes are kept (bounded deque) and exported as:

* ``autobot_mesh_rtt_seconds{peer,method,quantile="0.5"|"0.99"}``: linear-interpolated quantiles of
  the successful probes' RTTs in the window (absent while none succeeded);
* ``autobot_mesh_jitter_seconds{peer,method}``: mean absolute difference of consecutive successful
  RTTs in the window (RFC 3550's interarrival-jitter idea, unsmoothed; needs two RTTs);
* ``autobot_mesh_loss_ratio{peer,method}``: failed / probes in the window;
* ``autobot_mesh_probes_total{peer,method,result}``: probes since the agent started, ``result`` in
  ``ok``, ``timeout``, ``refused``, ``unreachable``, ``error``.

Peers come from ``--peer NAME=HOST:PORT`` or a peers file: lines ``NAME=HOST:PORT`` (``#``
comments), or the hub's YAML config, whose ``hosts:`` (name, address) become the peers, the agent
itself excluded (see :func:`load_peers_file`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import itertools
import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field

from ..model import MetricFamily
from .metrics import MESH_SPECS

log = logging.getLogger(__name__)

QUANTILES = (0.5, 0.99)
RESULTS = ("ok", "timeout", "refused", "unreachable", "error")


@dataclass(frozen=True)
class Peer:
    """A peer agent: ``name`` (the inventory host name), ``host`` (name or IP), ``port``."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_peer(text: str) -> Peer:
    """``NAME=HOST:PORT`` -> :class:`Peer`. Raises ``ValueError`` with the reason."""
    name, sep, addr = text.strip().partition("=")
    host, sep2, port = addr.rpartition(":")
    if not sep or not name or not sep2 or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected NAME=HOST:PORT, got {text!r}")
    return Peer(name.strip(), host.strip("[]"), int(port))


def load_peers_file(path: str, self_name: str | None = None,
                    self_address: str | None = None) -> list[Peer]:
    """Peers from ``path``: either lines ``NAME=HOST:PORT`` (blank lines and ``#`` comments
    skipped) or a hub YAML config (a mapping with ``hosts:``), whose hosts' ``name``/``address``
    become peers, except the one named ``self_name`` or at ``self_address``. Raises ``ValueError``
    (bad line or document) or ``OSError`` (unreadable file)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if lines and all("=" in ln and ":" not in ln.split("=", 1)[0] for ln in lines):
        peers = [parse_peer(ln) for ln in lines]
    else:
        import yaml

        doc = yaml.safe_load(text) or {}
        if not isinstance(doc, dict) or not isinstance(doc.get("hosts", []), list):
            raise ValueError(f"{path}: neither NAME=HOST:PORT lines nor a config with hosts:")
        peers = [parse_peer(f"{h['name']}={h['address']}") for h in doc.get("hosts") or []]
    return [p for p in peers if p.name != self_name and p.address != self_address]


def icmp_mode() -> bool | None:
    """How this process may send ICMP echo: True (raw socket, privileged), False (datagram socket,
    allowed by ``net.ipv4.ping_group_range``), None (not at all)."""
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return None
    return False if any(lo <= g <= hi for g in (os.getegid(), *os.getgroups())) else None


def quantile(sorted_xs: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of a non-empty sorted list."""
    pos = q * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


@dataclass
class PeerWindow:
    """The last ``size`` probe outcomes (RTT seconds, or None when lost) and counts by result."""

    size: int
    outcomes: deque = field(init=False)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))

    def __post_init__(self) -> None:
        self.outcomes = deque(maxlen=self.size)

    def record(self, result: str, rtt: float | None) -> None:
        self.counts[result] += 1
        self.outcomes.append(rtt if result == "ok" else None)

    def stats(self) -> dict:
        """``{rtt: {0.5: s, 0.99: s} | None, jitter: s | None, loss: ratio | None, probes: n}``."""
        rtts = [r for r in self.outcomes if r is not None]
        n = len(self.outcomes)
        s = sorted(rtts)
        jitter = (sum(abs(b - a) for a, b in itertools.pairwise(rtts)) / (len(rtts) - 1)
                  if len(rtts) >= 2 else None)
        return {"rtt": {q: quantile(s, q) for q in QUANTILES} if s else None, "jitter": jitter,
                "loss": (n - len(rtts)) / n if n else None, "probes": n}


def _classify(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH,
                                                  errno.ENETDOWN, errno.EHOSTDOWN):
        return "unreachable"
    return "error"


async def tcp_probe(host: str, port: int, timeout: float) -> float:
    """Seconds one TCP connect to ``host:port`` took. Raises ``TimeoutError`` or ``OSError``."""
    t0 = time.perf_counter()
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(host, port)
    rtt = time.perf_counter() - t0
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return rtt


class Mesh:
    """Probe loop over ``peers``. ``interval`` seconds between rounds, ``timeout`` per probe,
    ``window`` probes kept per peer and method; ``icmp`` None = decide with :func:`icmp_mode`,
    False = TCP only."""

    def __init__(self, peers: list[Peer], interval: float = 5.0, timeout: float = 1.0,
                 window: int = 60, icmp: bool | None = None):
        self.peers = peers
        self.interval = interval
        self.timeout = min(timeout, interval)
        self.windows: dict[tuple[str, str], PeerWindow] = {}
        self._icmp_privileged = icmp_mode() if icmp is None else (icmp_mode() if icmp else None)
        self.methods = ("tcp", "icmp") if self._icmp_privileged is not None else ("tcp",)
        for p in peers:
            for m in self.methods:
                self.windows[(p.name, m)] = PeerWindow(window)
        self._icmp_socks: dict[str, object] = {}  # one per peer: concurrent receives on one
        self._icmp_id = os.getpid() & 0xFFFF
        self._seq = itertools.count(1)
        self._stop = asyncio.Event()

    async def _icmp_probe(self, peer: str, host: str) -> float:
        from icmplib import AsyncSocket, ICMPRequest, ICMPv4Socket

        sock = self._icmp_socks.get(peer)  # socket would drop each other's replies
        if sock is None:
            sock = self._icmp_socks[peer] = AsyncSocket(
                ICMPv4Socket(privileged=bool(self._icmp_privileged)))
        req = ICMPRequest(host, self._icmp_id, next(self._seq) & 0xFFFF)
        t0 = time.perf_counter()
        sock.send(req)
        reply = await sock.receive(req, self.timeout)
        rtt = time.perf_counter() - t0
        reply.raise_for_status()
        return rtt

    async def _probe(self, peer: Peer, method: str, addr: str) -> None:
        try:
            if method == "tcp":
                rtt = await tcp_probe(addr, peer.port, self.timeout)
            else:
                rtt = await self._icmp_probe(peer.name, addr)
        except Exception as e:  # noqa: BLE001 - every failure is a lost probe
            self.windows[(peer.name, method)].record(_icmp_result(e) if method == "icmp"
                                                     else _classify(e), None)
            return
        self.windows[(peer.name, method)].record("ok", rtt)

    async def _resolve(self, peer: Peer) -> str:
        try:
            ipaddress.ip_address(peer.host)
            return peer.host
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(peer.host, peer.port,
                                                                 family=socket.AF_INET)
            return infos[0][4][0]

    async def probe_peer(self, p: Peer) -> None:
        """One probe per method to ``p``, concurrently."""
        try:
            addr = await self._resolve(p)
        except OSError:
            for m in self.methods:
                self.windows[(p.name, m)].record("unreachable", None)
            return
        await asyncio.gather(*(self._probe(p, m, addr) for m in self.methods))

    async def _peer_loop(self, p: Peer, phase: float) -> None:
        """Probes to ``p`` every ``interval`` (monotonic schedule, no bursts after a stall); each
        peer has its own loop so a lost probe's timeout never delays the others."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + phase
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, next_at - loop.time()))
            if self._stop.is_set():
                break
            try:
                await self.probe_peer(p)
            except Exception:  # noqa: BLE001 - keep probing
                log.exception("mesh probe to %s failed", p.name)
            next_at += self.interval
            if next_at < loop.time():
                next_at = loop.time() + self.interval

    async def run_forever(self) -> None:
        """One probe loop per peer, phases spread over the interval, until :meth:`stop`."""
        if "icmp" not in self.methods:
            log.info("mesh: ICMP echo unavailable (not root, ping_group_range excludes us): TCP only")
        n = max(1, len(self.peers))
        try:
            await asyncio.gather(*(self._peer_loop(p, self.interval * i / n)
                                   for i, p in enumerate(self.peers)))
        finally:
            for sock in self._icmp_socks.values():
                sock.close()

    def stop(self) -> None:
        self._stop.set()

    def families(self) -> list[MetricFamily]:
        """The four mesh families from the current windows (see the module docstring)."""
        rtt, jit, loss, probes = (s.family() for s in MESH_SPECS)
        for (peer, method), w in self.windows.items():
            lab = {"peer": peer, "method": method}
            st = w.stats()
            if st["rtt"] is not None:
                for q, v in st["rtt"].items():
                    rtt.add(v, {**lab, "quantile": f"{q:g}"})
            if st["jitter"] is not None:
                jit.add(st["jitter"], lab)
            if st["loss"] is not None:
                loss.add(st["loss"], lab)
            for res, n in w.counts.items():
                probes.add(n, {**lab, "result": res})
        return [rtt, jit, loss, probes]


def _icmp_result(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "TimeoutExceeded" or isinstance(exc, TimeoutError):
        return "timeout"
    if name in ("DestinationUnreachable", "HostUnreachable", "NetworkUnreachable"):
        return "unreachable"
    return _classify(exc)


def mesh_summary(families: list[MetricFamily]) -> dict[str, dict[str, dict]]:
    """Per peer and method, from a host's scraped families: ``{peer: {method: {rtt_p50_seconds,
    rtt_p99_seconds, jitter_seconds, loss_ratio}}}``; ``{}`` when the host exports no mesh.
    Figures not exported are None."""
    out: dict[str, dict[str, dict]] = {}
    keys = {"autobot_mesh_jitter_seconds": "jitter_seconds", "autobot_mesh_loss_ratio": "loss_ratio"}
    for f in families:
        if f.name != "autobot_mesh_rtt_seconds" and f.name not in keys:
            continue
        for s in f.samples:
            d = s.label_dict
            row = out.setdefault(d.get("peer", ""), {}).setdefault(d.get("method", ""), {
                "rtt_p50_seconds": None, "rtt_p99_seconds": None, "jitter_seconds": None,
                "loss_ratio": None})
            if f.name in keys:
                row[keys[f.name]] = s.value
            elif d.get("quantile") in ("0.5", "0.99"):
                row["rtt_p50_seconds" if d["quantile"] == "0.5" else "rtt_p99_seconds"] = s.value
    return out
