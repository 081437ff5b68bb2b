"""A dedicated thread with its own asyncio event loop, where the service checks' timed I/O runs.

Why: a check's response time is meant to measure the wire (connect, request, answer). Timed on the
hub's event loop, it also measured the loop's backlog: a PING answered in 0.3 ms was read back up to
tens of ms later, when the busy loop (store writes, scrapes, API requests) came round to the
socket. On this loop nothing else runs, so the time between a socket becoming readable and the
check reading its clock is only the OS scheduler's and the GIL's, not the hub's queue.

Shapes: :meth:`CheckLoop.run` takes a coroutine *function call* made for this loop and returns its
result to the calling loop (cancellation of the caller cancels the task here). The loop thread is
started on first use and stopped by :meth:`CheckLoop.aclose`; it is a daemon thread, so a process
that exits without closing it is not held up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class CheckLoop:
    """One thread running one event loop, named ``name`` (seen in ``py-spy``, thread dumps)."""

    def __init__(self, name: str = "service-checks"):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                # Work submitted before run_forever() starts waits in the loop's queue: no need
                # to block the caller until the thread is up.
                loop = asyncio.new_event_loop()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.run_forever()
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.close()

                self._thread = threading.Thread(target=main, name=self.name, daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        """The loop's thread once started, else ``None``."""
        return self._thread

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the check loop and return (or raise) its outcome here."""
        fut = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        return await asyncio.wrap_future(fut)

    async def aclose(self) -> None:
        """Stop the loop (after what is scheduled on it) and wait up to 5 s for its thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 5.0)
