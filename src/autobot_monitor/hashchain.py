"""Tamper evidence for JSONL logs: a SHA-256 hash chain over the records.

Each record is one JSON object on one line, ending in two fields this module adds::

    {...the record...,"prev":"<hash of the previous record>","hash":"<sha256 hex>"}

``hash`` is the SHA-256 (hex) of the line's bytes up to, not including, ``,"hash":``; that prefix
contains ``prev``, so changing, removing or reordering any record breaks the link to the next.
The first record ever written has ``prev`` = 64 zeros (:data:`GENESIS`). The chain continues
across rotation (``alerts.log.1`` ends where ``alerts.log`` begins) and across restarts (the last
hash is read back from the file at start).

:class:`ChainFormatter` seals records in the logging thread (:mod:`autobot_monitor.logs` puts it
on the ``logs/alerts.log`` handler); :func:`verify_lines` / :func:`verify_files` check a chain and
report the first broken record (``autobot-monitor verify-log FILE...``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64
_TAIL_RE = re.compile(r',"hash":"([0-9a-f]{64})"\}$')


def seal(payload: str, prev: str) -> tuple[str, str]:
    """(line, hash) for a JSON-object ``payload`` text chained after ``prev``. Raises
    ``ValueError`` when ``payload`` is not a JSON object."""
    body = payload.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError("a chained record must be a JSON object")
    sep = "," if body[1:-1].strip() else ""
    prefix = f'{body[:-1]}{sep}"prev":"{prev}"'
    digest = hashlib.sha256(prefix.encode()).hexdigest()
    return f'{prefix},"hash":"{digest}"}}', digest


def last_hash(path: str) -> str:
    """Hash of the last record in ``path`` (or in ``path.1`` when ``path`` is empty or missing);
    :data:`GENESIS` when there is none."""
    for p in (path, path + ".1"):
        try:
            with open(p, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 65536))
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            continue
        if lines:
            m = _TAIL_RE.search(lines[-1].strip())
            if m:
                return m.group(1)
    return GENESIS


class ChainFormatter(logging.Formatter):
    """Formats each record's message (a JSON object) as a sealed line. Runs in the logging
    listener thread only (one writer); a record formatted twice (RotatingFileHandler's size check,
    then emit) is sealed once."""

    def __init__(self, path: str):
        super().__init__()
        self.prev = last_hash(path)

    def format(self, record: logging.LogRecord) -> str:
        done = getattr(record, "_chained", None)
        if done is not None:
            return done
        try:
            line, self.prev = seal(record.getMessage(), self.prev)
        except ValueError:
            line, self.prev = seal(json.dumps({"message": record.getMessage()}), self.prev)
        record._chained = line
        return line


@dataclass
class VerifyResult:
    """``records`` checked; ``broken`` is ``None`` when the chain holds, else
    ``(file, line number, reason)`` of the first bad record; ``first_prev`` the anchor the chain
    starts from (:data:`GENESIS` for a log never rotated away)."""

    records: int
    broken: tuple[str, int, str] | None
    first_prev: str | None


def verify_lines(lines: Iterable[tuple[str, int, str]], prev: str | None = None) -> VerifyResult:
    """Check ``(file, line number, text)`` records in order. ``prev`` is the expected ``prev`` of
    the first record (``None``: take the first record's own, as after rotation)."""
    n = 0
    first_prev = None
    for fname, lineno, text in lines:
        text = text.rstrip("\n")
        if not text.strip():
            continue
        m = _TAIL_RE.search(text)
        if not m:
            return VerifyResult(n, (fname, lineno, "no hash field at the end of the record"), first_prev)
        prefix = text[:m.start()]
        if hashlib.sha256(prefix.encode()).hexdigest() != m.group(1):
            return VerifyResult(n, (fname, lineno, "record was modified (hash does not match)"), first_prev)
        try:
            rec_prev = json.loads(text).get("prev")
        except (ValueError, AttributeError):
            return VerifyResult(n, (fname, lineno, "not a JSON object"), first_prev)
        if first_prev is None:
            first_prev = rec_prev
        if prev is not None and rec_prev != prev:
            return VerifyResult(n, (fname, lineno, "chain broken: a record before this one was "
                                                   "removed, inserted or reordered"), first_prev)
        prev = m.group(1)
        n += 1
    return VerifyResult(n, None, first_prev)


def verify_files(paths: list[str]) -> VerifyResult:
    """Verify ``paths`` as one chain, oldest first (``alerts.log.2 alerts.log.1 alerts.log``).
    Raises ``OSError`` for an unreadable file."""
    def gen():
        for p in paths:
            with open(p, encoding="utf-8", errors="replace") as f:
                for i, line in enumerate(f, 1):
                    yield p, i, line
    return verify_lines(gen())
