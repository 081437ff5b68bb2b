"""What the subcommands share: the one-line failure message, finding and loading the config, and
the hub's pid file. Imports nothing heavy at module level (the agent does not pay for pydantic)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config.models import MonitorConfig

PID_FILE = "hub.pid"
"""Name of the file, in the data directory, that holds the running hub's process id."""


def fail(msg: str, code: int = 2) -> int:
    """Print ``autobot-monitor: msg`` to stderr; return ``code`` (the command's exit status)."""
    print(f"autobot-monitor: {msg}", file=sys.stderr)
    return code


def find_and_load_config(path: str | None) -> tuple[MonitorConfig, str | None]:
    """``(MonitorConfig, path)``: the file given, else ./monitoring_config.yaml, else defaults
    (path ``None``). Raises :class:`~autobot_monitor.errors.ConfigError` (one problem per
    ``FILE:LINE`` line) for an unreadable or invalid file."""
    from .config.loader import find_default_config, load_config

    path = path or find_default_config()
    return load_config(path), path


def read_pid(path: str) -> int | None:
    """The process id written in ``path``; ``None`` if the file is missing, unreadable or not an
    integer."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, exited but not yet reaped by its parent, does not; one we
    may not inspect counts as running)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
