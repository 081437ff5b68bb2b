"""Write-ahead log of the store's in-memory head: an append-only file, one record per write.

Record: ``<u32 payload length><u32 CRC-32 of payload><payload>``; payload:
``<u32 n_defs><u32 n_samples>``, then ``n_defs`` series definitions
(``<u32 id><u8 type><u16 len><len bytes: JSON [name, {labels}]>``), then the samples as three
packed arrays: ids (u32), timestamps (i64 ms), values (f64). Every append is followed by
``fsync``, so a write that returned survives ``kill -9`` (and a power cut, as far as the disk
honours fsync). Replay stops at the first torn or corrupt record (the write that was in flight)
and reports how many bytes it dropped. After the head is flushed to chunks the log is replaced
atomically by one holding only what is still in the head.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from ..atomicfile import atomic_open
from ..errors import StoreError

_REC = struct.Struct("<II")
_CNT = struct.Struct("<II")
_DEF = struct.Struct("<IBH")
TYPES = ("gauge", "counter", "info")

SeriesDef = tuple[int, str, str, tuple[tuple[str, str], ...]]  # id, type, name, labels
Record = tuple[list[SeriesDef], "array[int]", "array[int]", "array[float]"]  # defs, ids, ms, values


def encode(defs: list[SeriesDef], ids: array[int], ts: array[int], vals: array[float]) -> bytes:
    parts = [_CNT.pack(len(defs), len(ids))]
    for sid, type_, name, labels in defs:
        body = json.dumps([name, dict(labels)], separators=(",", ":")).encode()
        parts.append(_DEF.pack(sid, TYPES.index(type_) if type_ in TYPES else 0, len(body)) + body)
    parts += [ids.tobytes(), ts.tobytes(), vals.tobytes()]
    payload = b"".join(parts)
    return _REC.pack(len(payload), zlib.crc32(payload)) + payload


def decode(payload: bytes) -> Record:
    nd, ns = _CNT.unpack_from(payload)
    off = _CNT.size
    defs: list[SeriesDef] = []
    for _ in range(nd):
        sid, tcode, ln = _DEF.unpack_from(payload, off)
        off += _DEF.size
        name, labels = json.loads(payload[off:off + ln])
        off += ln
        defs.append((sid, TYPES[tcode], name, tuple(sorted(labels.items()))))
    ids, ts, vals = array("I"), array("q"), array("d")
    ids.frombytes(payload[off:off + 4 * ns])
    off += 4 * ns
    ts.frombytes(payload[off:off + 8 * ns])
    off += 8 * ns
    vals.frombytes(payload[off:off + 8 * ns])
    return defs, ids, ts, vals


class Wal:
    """The log file at ``path`` (created if missing). Errors: :class:`StoreError` when the file
    cannot be written or synced (a full disk, a read-only directory)."""

    def __init__(self, path: str):
        self.path = path
        self._f: BinaryIO | None = None

    def replay(self) -> tuple[Iterator[Record], list[int]]:
        """Iterate the intact records; the list gets ``[dropped_bytes]`` once iteration ends."""
        dropped = [0]

        def it() -> Iterator[Record]:
            try:
                with open(self.path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return
            off = 0
            while off + _REC.size <= len(data):
                ln, crc = _REC.unpack_from(data, off)
                payload = data[off + _REC.size: off + _REC.size + ln]
                if len(payload) != ln or zlib.crc32(payload) != crc:
                    break
                try:
                    rec = decode(payload)
                except (struct.error, ValueError, IndexError, UnicodeDecodeError):
                    break
                off += _REC.size + ln
                yield rec
            dropped[0] = len(data) - off
        return it(), dropped

    def _open(self) -> BinaryIO:
        if self._f is None:
            try:
                self._f = open(self.path, "ab")  # noqa: SIM115 - kept open, closed in close()
            except OSError as e:
                raise StoreError(f"cannot open write-ahead log {self.path}: {e.strerror}") from e
        return self._f

    def append(self, record: bytes) -> None:
        f = self._open()
        try:
            pos = f.tell()
            f.write(record)
            f.flush()
            os.fsync(f.fileno())
        except OSError as e:
            try:  # cut the partial record so the log stays replayable
                f.truncate(pos)
            except OSError:
                pass
            raise StoreError(f"cannot append to write-ahead log {self.path}: {e.strerror}") from e

    def size(self) -> int:
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def rewrite(self, record: bytes | None) -> None:
        """Atomically replace the log by one holding ``record`` (or nothing)."""
        try:
            with atomic_open(self.path, binary=True) as f:
                f.write(record or b"")
                self.close()  # the append handle goes before the file it writes is replaced
        except OSError as e:
            raise StoreError(f"cannot rewrite write-ahead log {self.path}: {e.strerror}") from e

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.close()
            finally:
                self._f = None
