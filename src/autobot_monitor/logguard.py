"""Log file handlers that report write failures once per state change, not once per record.

``logging.Handler.handleError`` prints a full traceback to stderr for every record it could not
write: on a full disk that is a traceback per log line, forever. :class:`GuardedRotatingFileHandler`
prints one line when writing starts failing (``autobot-monitor: cannot write log FILE: No space
left on device; records are dropped until it can``) and one when it works again (``... writable
again, N record(s) dropped``), and counts the records lost in between (:attr:`dropped`).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys


class GuardedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """``RotatingFileHandler`` whose write errors are one stderr line per state change.

    Attributes: ``failing`` (bool, the last record could not be written), ``dropped`` (records lost
    since writing last started failing). Thread-safe as logging handlers are: ``emit`` runs under
    the handler's lock.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failing = False
        self.dropped = 0
        self._failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)  # calls handleError() on failure
        self._note_success()

    def _note_success(self) -> None:
        """After a record: if it was written while failing, say once that writing works again."""
        if not self._failed_now and self.failing:
            self.failing = False
            _say(f"log {self.baseFilename} writable again, {self.dropped} record(s) dropped")
            self.dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging API
        self._failed_now = True
        self.dropped += 1
        # drop the half-written stream: the next record reopens the file (space may be back)
        stream, self.stream = self.stream, None  # type: ignore[assignment]
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
        if self.failing:
            return
        self.failing = True
        exc = sys.exc_info()[1]
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        _say(f"cannot write log {self.baseFilename}: {reason}; records are dropped until it can")


def _say(line: str) -> None:
    """One line to stderr; stderr itself failing is ignored (nothing else to tell)."""
    try:
        sys.stderr.write(f"autobot-monitor: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
