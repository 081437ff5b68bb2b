"""``/ws``: the dashboard's live feed. Each cycle's message, ``{"type": "metrics_update",
"data": {...}, "timestamp": t}``, is pushed to every connected socket; the latest one is sent
on connect. Messages the client sends are read and ignored (reading notices a close)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect


def build_router(subscribe: Callable[[], asyncio.Queue[str]],
                 unsubscribe: Callable[[asyncio.Queue[str]], None],
                 latest: Callable[[], str]) -> APIRouter:
    """The route over ``subscribe()`` (a queue of the messages of the cycles to come),
    ``unsubscribe(queue)`` and ``latest()`` (the last cycle's message, ``""`` before the first)."""
    r = APIRouter()

    @r.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        q = subscribe()
        try:
            first = latest()
            if first:
                await websocket.send_text(first)
            recv = asyncio.create_task(websocket.receive_text())
            while True:
                get = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({get, recv}, return_when=asyncio.FIRST_COMPLETED)
                if recv in done:
                    get.cancel()
                    recv.result()  # raises WebSocketDisconnect on close
                    recv = asyncio.create_task(websocket.receive_text())
                    continue
                await websocket.send_text(get.result())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            unsubscribe(q)
            with contextlib.suppress(Exception):
                recv.cancel()

    return r
