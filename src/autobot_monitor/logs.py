"""Log files in the spec's layout, rotated and bounded, written off the event loop.

``<dir>/monitoring_control.log`` gets the hub's log; ``<dir>/performance/metrics.jsonl`` one JSON
line of summaries per cycle. Every file is a rotating :class:`BatchFileHandler` (``max_bytes`` x
``backup_count`` bounds the disk used); handlers sit behind :class:`BatchListener` threads so
the event loop only enqueues records and never touches a file. Queues are bounded: a record that
finds its queue full is dropped and counted (:func:`dropped_records`), never waited for. A file
that cannot be written (a full disk) gives one stderr line per state change (:mod:`.logguard`).

Every record, whoever logs it (ours, uvicorn's, httpx's), passes
:class:`~.redaction.RedactFilter` on its way in, so no credential reaches a file or the console.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import sys
import time

from .config.models import LoggingConfig
from .logguard import GuardedRotatingFileHandler
from .redaction import RedactFilter

SUBDIRS = ("performance", "benchmarks", "metrics", "alerts")


class DroppingQueueHandler(logging.handlers.QueueHandler):
    """A ``QueueHandler`` onto a bounded queue that never blocks the caller: a record that finds
    the queue full is dropped and counted in :attr:`dropped` (the stdlib one prints a traceback
    per record). A record the :class:`RedactFilter` already rendered (``args`` None, no
    exception) is queued as is, without the stdlib's format-and-copy."""

    def __init__(self, q: queue.Queue):
        super().__init__(q)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.args is None and not record.exc_info and isinstance(record.msg, str):
            record.message = record.msg
            return record
        return super().prepare(record)

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class BatchFileHandler(GuardedRotatingFileHandler):
    """A ``RotatingFileHandler`` for a listener thread: the file's size is counted in memory
    (the stdlib seeks and asks the size on every record) and lines are buffered (64 KiB);
    :class:`BatchListener` flushes once per batch of records. Each syscall of a logging thread
    releases the GIL and waits up to ``sys.getswitchinterval()`` (5 ms) to get it back from a busy
    event loop, so one write per record capped the access log near a few hundred lines a second
    and let its queue fill under load."""

    BUFFER = 1 << 16

    def __init__(self, filename: str, max_bytes: int, backup_count: int):
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self._size = self.stream.tell()

    def _open(self):
        return open(self.baseFilename, self.mode, encoding=self.encoding,  # noqa: SIM115
                    errors=self.errors, buffering=self.BUFFER)

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        try:
            line = self.format(record) + self.terminator
            size = len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
            if self.maxBytes > 0 and self._size and self._size + size >= self.maxBytes:
                self.doRollover()
                self._size = 0
            if self.stream is None:
                self.stream = self._open()
                self._size = self.stream.tell()
            self.stream.write(line)
            self._size += size
        except Exception:  # noqa: BLE001 - the logging contract: report, never raise
            self.handleError(record)
        self._note_success()

    def flush(self) -> None:
        """Flush the batch; a failing flush (full disk) is one failure, not an exception that
        would end the listener thread."""
        try:
            super().flush()
        except OSError:
            self._failed_now = True
            self.handleError(None)  # type: ignore[arg-type]


class BatchListener(logging.handlers.QueueListener):
    """A ``QueueListener`` that takes every record waiting (up to :attr:`MAX_BATCH`), hands each
    to its handlers, flushes them once, then sleeps :attr:`LINGER` seconds so records gather:
    a busy hub wakes it (GIL hand-off, futex) about 20 times a second, not once per record.
    A line reaches its file at most ~LINGER after it was logged."""

    MAX_BATCH = 1000
    LINGER = 0.05

    def _monitor(self) -> None:
        q = self.queue
        while True:
            batch = [self.dequeue(True)]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self.dequeue(False))
                except queue.Empty:
                    break
            stop = False
            for record in batch:
                if record is self._sentinel:
                    stop = True
                else:
                    self.handle(record)
            for h in self.handlers:
                h.flush()
            for _ in batch:
                q.task_done()
            if stop:
                return
            time.sleep(self.LINGER)


def _queue_handler(q: queue.Queue) -> logging.Handler:
    h = DroppingQueueHandler(q)
    h.addFilter(RedactFilter())
    return h


def dropped_records() -> int:
    """Log records dropped so far because a log queue was full (every logger set up here)."""
    loggers = (logging.getLogger(), *(logging.getLogger(n) for n in (
        "autobot_monitor.performance", "autobot_monitor.access", "autobot_monitor.alerts_log")))
    return sum(getattr(h, "dropped", 0) for lg in loggers for h in lg.handlers)


class _Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def setup_logging(cfg: LoggingConfig, data_dir: str, console: bool = True,
                  main_log: str = "monitoring_control.log") -> logging.handlers.QueueListener:
    """Create the log directories and handlers; returns the started listener (stop it at exit)."""
    log_dir = cfg.dir if os.path.isabs(cfg.dir) else os.path.join(data_dir, cfg.dir)
    for sub in SUBDIRS:
        os.makedirs(os.path.join(log_dir, sub), exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    main = BatchFileHandler(os.path.join(log_dir, main_log), cfg.max_bytes, cfg.backup_count)
    main.setFormatter(fmt)
    handlers: list[logging.Handler] = [main]
    if console:
        con = logging.StreamHandler(sys.stderr)
        con.setFormatter(fmt)
        handlers.append(con)
    q: queue.Queue = queue.Queue(maxsize=10000)
    listener = BatchListener(q, *handlers, respect_handler_level=True)
    root = logging.getLogger()
    root.handlers[:] = [_queue_handler(q)]
    root.setLevel(cfg.level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    perf = logging.getLogger("autobot_monitor.performance")
    perf.propagate = False
    perf.handlers[:] = []
    if cfg.performance_jsonl:
        ph = BatchFileHandler(os.path.join(log_dir, "performance", "metrics.jsonl"),
                              cfg.max_bytes, cfg.backup_count)
        ph.setFormatter(_Plain())
        pq: queue.Queue = queue.Queue(maxsize=1000)
        perf.addHandler(_queue_handler(pq))
        perf.setLevel(logging.INFO)
        plistener = BatchListener(pq, ph)
        plistener.start()
        listener._autobot_extra = plistener  # type: ignore[attr-defined]
    listener._autobot_security = _security_logs(cfg, log_dir)  # type: ignore[attr-defined]
    listener.start()
    return listener


def _security_logs(cfg: LoggingConfig, log_dir: str) -> logging.handlers.QueueListener:
    """``access.log`` (one JSON line per request, from ``autobot_monitor.access``) and
    ``alerts.log`` (``autobot_monitor.alerts_log``, hash-chained by :class:`~.hashchain.ChainFormatter`),
    rotated like the others, written by their own listener thread."""
    from .hashchain import ChainFormatter

    q: queue.Queue = queue.Queue(maxsize=10000)
    handlers = []
    for name, fname, formatter in (("autobot_monitor.access", "access.log", _Plain()),
                                   ("autobot_monitor.alerts_log", "alerts.log", None)):
        path = os.path.join(log_dir, fname)
        h = BatchFileHandler(path, cfg.max_bytes, cfg.backup_count)
        h.setFormatter(formatter or ChainFormatter(path))
        h.addFilter(lambda r, n=name: r.name == n)
        handlers.append(h)
        lg = logging.getLogger(name)
        lg.propagate = False
        lg.handlers[:] = [_queue_handler(q)]
        lg.setLevel(logging.INFO)
    listener = BatchListener(q, *handlers)
    listener.start()
    return listener


def stop_logging(listener: logging.handlers.QueueListener) -> None:
    extra = getattr(listener, "_autobot_extra", None)
    if extra is not None:
        extra.stop()
    listener.stop()
    security = getattr(listener, "_autobot_security", None)
    if security is not None:
        security.stop()
