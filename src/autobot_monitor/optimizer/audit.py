"""The optimizer's audit trail: ``<log dir>/optimization.log``, one JSON object per line.

Every recommendation considered, every decision (applied, skipped and why, refused by a
guardrail), every result, effect measurement and undo is one line, written with a single
``write`` on an ``O_APPEND`` descriptor and fsynced, so a crash can at worst cut the line being
written (readers skip a line that does not parse). An action writes ``started`` before it runs;
one that never wrote its result (the process died) gets an ``interrupted`` line at the next
start. The file is rotated at ``max_bytes`` keeping ``backup_count`` old files
(``optimization.log.1`` ...). Blocking: call from a thread.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from ..model import json_safe


class AuditLog:
    def __init__(self, path: str, max_bytes: int = 5 * 1024 * 1024, backup_count: int = 3):
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._lock = threading.Lock()
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line (non-finite numbers become null)."""
        line = (json.dumps(json_safe(record), separators=(",", ":"), allow_nan=False, default=str)
                + "\n").encode()
        with self._lock:
            try:
                size = os.path.getsize(self.path)
            except OSError:
                size = 0
            if size and size + len(line) > self.max_bytes:
                self._rotate()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def _rotate(self) -> None:
        for i in range(self.backup_count - 1, 0, -1):
            src = f"{self.path}.{i}"
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The last ``limit`` parseable records of the current file (oldest first)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()[-limit:]
        except OSError:
            return []
        out = []
        for ln in lines:
            try:
                out.append(json.loads(ln))
            except ValueError:
                continue
        return out
