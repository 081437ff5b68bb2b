"""Log files in the spec's layout, rotated and bounded, written off the event loop.

``<dir>/monitoring_control.log`` gets the hub's log; ``<dir>/performance/metrics.jsonl`` one JSON
line of summaries per cycle. Every file is a ``RotatingFileHandler`` (write failures, a full disk:
one stderr line per state change, :mod:`.logguard`; ``max_bytes`` x
``backup_count`` bounds the disk used); all handlers sit behind one ``QueueListener`` thread so
the event loop only enqueues records and never touches a file.

Every record, whoever logs it (ours, uvicorn's, httpx's), passes
:class:`~.redaction.RedactFilter` on its way in, so no credential reaches a file or the console.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import sys

from .config.models import LoggingConfig
from .logguard import GuardedRotatingFileHandler
from .redaction import RedactFilter

SUBDIRS = ("performance", "benchmarks", "metrics", "alerts")


def _queue_handler(q: queue.Queue) -> logging.Handler:
    h = logging.handlers.QueueHandler(q)
    h.addFilter(RedactFilter())
    return h


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
    main = GuardedRotatingFileHandler(os.path.join(log_dir, main_log),
                                                maxBytes=cfg.max_bytes, backupCount=cfg.backup_count)
    main.setFormatter(fmt)
    handlers: list[logging.Handler] = [main]
    if console:
        con = logging.StreamHandler(sys.stderr)
        con.setFormatter(fmt)
        handlers.append(con)
    q: queue.Queue = queue.Queue(maxsize=10000)
    listener = logging.handlers.QueueListener(q, *handlers, respect_handler_level=True)
    root = logging.getLogger()
    root.handlers[:] = [_queue_handler(q)]
    root.setLevel(cfg.level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    perf = logging.getLogger("autobot_monitor.performance")
    perf.propagate = False
    perf.handlers[:] = []
    if cfg.performance_jsonl:
        ph = GuardedRotatingFileHandler(
            os.path.join(log_dir, "performance", "metrics.jsonl"),
            maxBytes=cfg.max_bytes, backupCount=cfg.backup_count)
        ph.setFormatter(_Plain())
        pq: queue.Queue = queue.Queue(maxsize=1000)
        perf.addHandler(_queue_handler(pq))
        perf.setLevel(logging.INFO)
        plistener = logging.handlers.QueueListener(pq, ph)
        plistener.start()
        listener._autobot_extra = plistener  # type: ignore[attr-defined]
    listener._autobot_security = _security_logs(cfg, log_dir)  # type: ignore[attr-defined]
    listener.start()
    return listener


def _security_logs(cfg: LoggingConfig, log_dir: str) -> logging.handlers.QueueListener:
    """Issue 9: ``access.log`` (one JSON line per request, from ``autobot_monitor.access``) and
    ``alerts.log`` (``autobot_monitor.alerts_log``, hash-chained by :class:`~.audit.ChainFormatter`),
    rotated like the others, written by their own listener thread."""
    from .audit import ChainFormatter

    q: queue.Queue = queue.Queue(maxsize=10000)
    handlers = []
    for name, fname, formatter in (("autobot_monitor.access", "access.log", _Plain()),
                                   ("autobot_monitor.alerts_log", "alerts.log", None)):
        path = os.path.join(log_dir, fname)
        h = GuardedRotatingFileHandler(path, maxBytes=cfg.max_bytes,
                                                 backupCount=cfg.backup_count)
        h.setFormatter(formatter or ChainFormatter(path))
        h.addFilter(lambda r, n=name: r.name == n)
        handlers.append(h)
        lg = logging.getLogger(name)
        lg.propagate = False
        lg.handlers[:] = [_queue_handler(q)]
        lg.setLevel(logging.INFO)
    listener = logging.handlers.QueueListener(q, *handlers)
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
