"""Self-metrics of the embedded store (declared as :data:`STORE_SPECS`)."""

from __future__ import annotations

import logging

from ..model import MetricFamily
from .metrics import STORE_SPECS

log = logging.getLogger(__name__)


_MAX_REPORTED = 1000


class StoreStats:
    """Counters behind :data:`STORE_SPECS`; ``tiers`` are the tier names."""

    def __init__(self, tiers: list[str]):
        self.tiers = tiers
        self.appended = 0
        self.rejected = {"duplicate": 0, "out_of_order": 0}
        self.refused = 0
        self.corrupt = dict.fromkeys(tiers, 0)
        self.dropped = {(t, r): 0 for t in tiers for r in ("retention", "size")}
        self.wal_replayed = 0
        self.future_dropped = 0
        self.flushes = 0
        self.flush_errors = 0
        self.flush_seconds: float | None = None
        self._reported: set[int] = set()

    def corrupt_chunk(self, chunk_id: int, tier: str, why: str, path: str) -> None:
        """Count a bad chunk met by a read; logged once per chunk (up to 1000 chunks)."""
        self.corrupt[tier] += 1
        if chunk_id not in self._reported and len(self._reported) < _MAX_REPORTED:
            self._reported.add(chunk_id)
            log.error("store %s: chunk %d (tier %s) is corrupt (%s); skipped, the rest of the "
                      "series stays readable", path, chunk_id, tier, why)

    def families(self, tier_bytes: list[int], series: int, head: int, wal: int, refusing: bool,
                 disk: int) -> list[MetricFamily]:
        (app, rej, ref, refg, cor, drop, cb, db, wb, ser, hd, rp, fut, fl) = (s.family() for s in STORE_SPECS)
        app.add(self.appended)
        for k, v in self.rejected.items():
            rej.add(v, {"reason": k})
        ref.add(self.refused)
        refg.add(1.0 if refusing else 0.0)
        for t, v in self.corrupt.items():
            cor.add(v, {"tier": t})
        for (t, r), v in self.dropped.items():
            drop.add(v, {"tier": t, "reason": r})
        for t, v in zip(self.tiers, tier_bytes, strict=True):
            cb.add(v, {"tier": t})
        db.add(disk)
        wb.add(wal)
        ser.add(series)
        hd.add(head)
        rp.add(self.wal_replayed)
        fut.add(self.future_dropped)
        out = [app, rej, ref, refg, cor, drop, cb, db, wb, ser, hd, rp, fut]
        if self.flush_seconds is not None:
            fl.add(self.flush_seconds)
            out.append(fl)
        return out
