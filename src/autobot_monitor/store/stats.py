"""Self-metrics of the embedded store (declared as :data:`STORE_SPECS`)."""

from __future__ import annotations

import logging

from ..model import MetricFamily, MetricSpec

log = logging.getLogger(__name__)

STORE_SPECS = (
    MetricSpec("autobot_store_samples_appended_total", "counter",
               "Samples the store accepted since the hub started."),
    MetricSpec("autobot_store_samples_rejected_total", "counter",
               "Samples dropped by the out-of-order rule: a timestamp equal to (duplicate) or "
               "before (out_of_order) the series' newest one.", "", ("reason",)),
    MetricSpec("autobot_store_samples_refused_total", "counter",
               "Samples refused because the store could not persist them (disk full, size cap, "
               "unwritable directory)."),
    MetricSpec("autobot_store_writes_refused", "gauge",
               "1 while the store refuses writes (see the hub log for why), else 0."),
    MetricSpec("autobot_store_chunks_corrupt_total", "counter",
               "Stored chunks skipped at read time because their checksum or encoding is bad.",
               "", ("tier",)),
    MetricSpec("autobot_store_chunks_dropped_total", "counter",
               "Whole chunks deleted by retention or by a tier's size cap.", "", ("tier", "reason")),
    MetricSpec("autobot_store_chunk_bytes", "gauge",
               "Compressed chunk bytes held per tier.", "bytes", ("tier",)),
    MetricSpec("autobot_store_disk_bytes", "gauge",
               "Bytes on disk of the store: database, its journal and the write-ahead log.", "bytes"),
    MetricSpec("autobot_store_wal_bytes", "gauge",
               "Size of the store's write-ahead log.", "bytes"),
    MetricSpec("autobot_store_series", "gauge", "Series known to the store."),
    MetricSpec("autobot_store_head_samples", "gauge",
               "Samples held in memory (and in the write-ahead log) not yet in chunks."),
    MetricSpec("autobot_store_wal_replayed_samples_total", "counter",
               "Samples recovered from the write-ahead log when the store opened."),
    MetricSpec("autobot_store_samples_future_dropped_total", "counter",
               "Stored samples deleted because they were stamped ahead of the wall clock (found "
               "at start, or after the clock stepped back)."),
    MetricSpec("autobot_store_flush_duration_seconds", "gauge",
               "Wall time of the last flush of the head into chunks.", "seconds"),
)

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
