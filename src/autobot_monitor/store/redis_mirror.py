"""Optional Redis mirror of the history, readable by other services.

Each write (one hub cycle) becomes one entry of the Stream ``{prefix}:history`` (fields ``ts``:
Unix seconds, ``samples``: JSON ``[[name, {labels}, value_or_null], ...]``), trimmed with
``XADD MAXLEN ~ stream_maxlen``; the key ``{prefix}:latest`` holds the newest cycle as JSON
``{"timestamp": ts, "samples": [...]}``. The embedded store stays the source of truth: the
mirror runs in its own thread and never blocks or fails a write. While Redis is unreachable the
entries wait in a backlog of at most ``backlog_max`` cycles; past it the oldest are dropped (logged
once per outage with a running count, and counted in ``autobot_store_redis_dropped_total``), and
the backlog is replayed in order when Redis answers again.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import os
import threading
from collections.abc import Iterable
from typing import Any

import redis

from ..model import MetricFamily
from .base import Series, Store
from .metrics import MIRROR_SPECS

log = logging.getLogger(__name__)


class MirroredStore:
    """Wraps a store: everything goes to ``inner``; writes are also queued for Redis (``cfg``
    is a :class:`~..config.models.RedisMirrorConfig`)."""

    def __init__(self, inner: Store, cfg: Any):
        self.inner = inner
        self.cfg = cfg
        host, _, port = cfg.address.rpartition(":")
        pw = os.environ.get(cfg.password_env) if cfg.password_env else None
        self._r = redis.Redis(host=host, port=int(port), db=cfg.db, password=pw,
                              socket_timeout=cfg.timeout, socket_connect_timeout=cfg.timeout)
        self._q: collections.deque[tuple[float, list[list[Any]]]] = collections.deque()
        self._cv = threading.Condition()
        self._stop = False
        self.up: bool | None = None
        self.mirrored = 0
        self.dropped = 0
        self._dropped_in_outage = 0
        self._t = threading.Thread(target=self._run, name="redis-mirror", daemon=True)
        self._t.start()

    def __getattr__(self, name: str) -> Any:  # query, query_range, mean, metric_names, ... go to the store
        return getattr(self.inner, name)

    def write(self, batch: Iterable[Series]) -> int:
        """Write ``batch`` (:class:`~.base.Series`) to the inner store, then queue its points as one
        entry for Redis (stamped with the newest point's time)."""
        batch = batch if isinstance(batch, list) else list(batch)
        n = self.inner.write(batch)
        rows = [[s.name, dict(s.labels), v if v is not None and math.isfinite(v) else None]
                for s in batch for _, v in s.points]
        if rows:
            entry = (max(t for s in batch for t, _ in s.points), rows)
            with self._cv:
                if len(self._q) >= self.cfg.backlog_max:
                    self._q.popleft()
                    self.dropped += 1
                    self._dropped_in_outage += 1
                    if self._dropped_in_outage == 1:
                        log.warning("redis mirror backlog full (%d cycles): dropping the oldest cycles "
                                    "until %s answers", self.cfg.backlog_max, self.cfg.address)
                self._q.append(entry)
                self._cv.notify()
        return n

    def _run(self) -> None:
        backoff = 0.2
        while True:
            with self._cv:
                while not self._q and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                ts, samples = self._q[0]
            try:
                body = json.dumps(samples, separators=(",", ":"))
                p = self._r.pipeline(transaction=False)
                p.xadd(f"{self.cfg.key_prefix}:history", {"ts": repr(ts), "samples": body},
                       maxlen=self.cfg.stream_maxlen, approximate=True)
                p.set(f"{self.cfg.key_prefix}:latest",
                      json.dumps({"timestamp": ts, "samples": samples}, separators=(",", ":")))
                p.execute()
            except redis.RedisError as e:
                if self.up is not False:
                    log.error("redis mirror %s unreachable (%s): buffering up to %d cycles",
                              self.cfg.address, e, self.cfg.backlog_max)
                self.up = False
                with self._cv:
                    self._cv.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            with self._cv:
                if self._q and self._q[0][0] == ts:
                    self._q.popleft()
                left = len(self._q)
            if self.up is False:
                log.warning("redis mirror %s is back: replaying %d buffered cycles (%d dropped while "
                            "it was down)", self.cfg.address, left + 1, self._dropped_in_outage)
            self.up, backoff, self._dropped_in_outage = True, 0.2, 0
            self.mirrored += 1

    def families(self) -> list[MetricFamily]:
        up, bl, mir, dr = (s.family() for s in MIRROR_SPECS)
        if self.up is not None:
            up.add(1.0 if self.up else 0.0)
        bl.add(len(self._q))
        mir.add(self.mirrored)
        dr.add(self.dropped)
        return [*self.inner.families(), *([up] if self.up is not None else []), bl, mir, dr]

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._t.join(5)
        self._r.close()
        self.inner.close()
