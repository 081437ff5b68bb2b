"""WebSocket load for bench/load_api.py: N reading clients and M clients that never read.

Reading clients use the ``websockets`` library and count the messages they receive. Never-reading
clients do the upgrade handshake on a raw socket and then never call recv(), so the hub's sends
back up into its own buffers: what they cost is bounded only if the hub bounds it.

Runs until SIGTERM/SIGINT, then prints one JSON line: clients connected, messages received,
errors (by type).

    python bench/ws_clients.py --url ws://127.0.0.1:9090/ws --reading 200 --silent 50
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import sys
from collections import Counter
from urllib.parse import urlsplit

import websockets


async def _reader(url: str, stats: Counter, stop: asyncio.Event) -> None:
    try:
        async with websockets.connect(url, open_timeout=30, max_size=64 * 1024 * 1024) as ws:
            stats["reading_connected"] += 1
            while not stop.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), 1.0)
                    stats["messages"] += 1
                except TimeoutError:
                    continue
    except Exception as e:  # noqa: BLE001 - counted, reported at the end
        stats[f"error:{type(e).__name__}"] += 1


def _silent(url: str, stats: Counter) -> socket.socket | None:
    """Handshake on a raw blocking socket, then return it unread (small receive buffer)."""
    u = urlsplit(url)
    try:
        s = socket.create_connection((u.hostname, u.port or 80), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = s.recv(256)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            stats["error:silent_handshake"] += 1
            s.close()
            return None
        stats["silent_connected"] += 1
        return s
    except OSError as e:
        stats[f"error:{type(e).__name__}"] += 1
        return None


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--reading", type=int, default=200)
    ap.add_argument("--silent", type=int, default=0)
    args = ap.parse_args()
    stats: Counter = Counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    silent = []
    for _ in range(args.silent):
        s = await asyncio.to_thread(_silent, args.url, stats)
        if s is not None:
            silent.append(s)
    tasks = [asyncio.create_task(_reader(args.url, stats, stop)) for _ in range(args.reading)]
    print(json.dumps({"ready": True}), flush=True)
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in silent:
        s.close()
    print(json.dumps(dict(stats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
