"""Userspace link emulator (kernel netem is not available here): a point-to-point Ethernet link
between two namespaces made of two TAP devices, with this process forwarding every frame after a
fixed one-way delay and dropping a share of the probes that cross it.

    python netem.py NS_A ADDR_A/24 NS_B ADDR_B/24 --delay-ms D --drop-every N

Each side gets a TAP device ``tapem`` with its address. Every frame waits ``D`` ms in each
direction (so a round trip gains ``2 D``). In the A -> B direction, every N-th *probe* frame is
dropped: a TCP SYN (without ACK) or an ICMP echo request, counted separately, so the probe loss
seen from A is exactly 1/N over any N consecutive probes (deterministic, no sampling noise);
everything else (ARP, the rest of each connection) passes. Prints ``ready`` once both taps are up.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from netlab import enter_netns  # noqa: E402

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def open_tap(ns: str, name: str) -> int:
    """A TAP fd created in namespace ``ns`` (the fd stays bound to it after we leave)."""
    enter_netns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def probe_kind(frame: bytes) -> str | None:
    """``syn`` for a TCP SYN (no ACK), ``echo`` for an ICMP echo request, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    proto, l4 = frame[23], 14 + ihl
    if proto == 6 and len(frame) > l4 + 13 and frame[l4 + 13] & 0x12 == 0x02:
        return "syn"
    if proto == 1 and len(frame) > l4 and frame[l4] == 8:
        return "echo"
    return None


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ns_a")
    ap.add_argument("addr_a")
    ap.add_argument("ns_b")
    ap.add_argument("addr_b")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--drop-every", type=int, default=0)
    a = ap.parse_args()
    fd_a, fd_b = open_tap(a.ns_a, "tapem"), open_tap(a.ns_b, "tapem")
    for ns, addr in ((a.ns_a, a.addr_a), (a.ns_b, a.addr_b)):
        subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", "tapem"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "tapem", "up"], check=True)
    loop = asyncio.get_running_loop()
    delay = a.delay_ms / 1000.0
    seen = {"syn": 0, "echo": 0}

    def send(fd: int, frame: bytes) -> None:
        try:
            os.write(fd, frame)
        except OSError:
            pass  # a full queue drops the frame, like a real link

    def pump(src: int, dst: int, lossy: bool) -> None:
        while True:
            try:
                frame = os.read(src, 65536)
            except BlockingIOError:
                return
            if lossy and a.drop_every:
                kind = probe_kind(frame)
                if kind is not None:
                    seen[kind] += 1
                    if seen[kind] % a.drop_every == 0:
                        continue
            loop.call_later(delay, send, dst, frame)

    loop.add_reader(fd_a, pump, fd_a, fd_b, True)
    loop.add_reader(fd_b, pump, fd_b, fd_a, False)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
