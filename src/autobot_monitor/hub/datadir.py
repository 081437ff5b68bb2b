"""The data dir under the hub's feet: is what the hub opened at start still there?

A data dir deleted (``rm -rf``) or replaced while the hub runs leaves it writing into unlinked
files: nothing it stores survives, and its pid file is gone. :class:`DataDirWatch` remembers the
device and inode of the data dir, the store file and the log directory at start; each cycle
:meth:`DataDirWatch.check` stats them again (a few ``stat`` calls, run in a worker thread) and
answers the first difference. The hub then logs it, ``/healthz`` answers 503 with the reason,
``autobot_hub_data_dir_ok`` turns 0 and the health score drops.

:func:`find_hub_process` finds a running hub by its command line when its pid file is gone
(``autobot-monitor stop`` falls back to it).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from ..model import MetricFamily
from .metrics import DATA_DIR_SPECS

if TYPE_CHECKING:
    import psutil

    from ..config.models import MonitorConfig

log = logging.getLogger(__name__)


def _ident(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DataDirWatch:
    """``paths``: ``[(what, path)]``, e.g. ``("data dir", "/var/lib/autobot")``. Paths missing at
    construction are not watched."""

    def __init__(self, paths: list[tuple[str, str]]):
        self._ids = [(what, p, i) for what, p in paths if (i := _ident(p)) is not None]
        self.problem: str | None = None

    def update(self) -> None:
        """:meth:`check` into :attr:`problem`; logs when a problem appears or clears."""
        problem = self.check()
        if problem and problem != self.problem:
            log.error("%s (watched: %s): what the hub stores and logs no longer survives it, "
                      "restart the hub", problem, ", ".join(self.paths))
        elif self.problem and not problem:
            log.warning("data dir check passes again")
        self.problem = problem

    @property
    def paths(self) -> list[str]:
        return [p for _, p, _ in self._ids]

    def check(self) -> str | None:
        """None while everything is what was opened, else a short reason (no path), e.g.
        ``"data dir was deleted"`` or ``"store file was replaced"``. Blocking (stat calls)."""
        for what, path, ident in self._ids:
            now = _ident(path)
            if now != ident:
                return f"{what} was {'deleted' if now is None else 'replaced'} while the hub ran"
        return None

    @staticmethod
    def families(problem: str | None) -> list[MetricFamily]:
        fam = DATA_DIR_SPECS[0].family()
        fam.add(0.0 if problem else 1.0)
        return [fam]


def watched_paths(config: MonitorConfig, data_dir: str) -> list[tuple[str, str]]:
    """What the hub watches: its data dir, log directory and (embedded backend) store file."""
    from ..store.factory import resolve_path

    logs = config.logging.dir
    out = [("data dir", data_dir),
           ("log directory", logs if os.path.isabs(logs) else os.path.join(data_dir, logs))]
    if config.storage.backend != "prometheus":
        out.append(("store file", resolve_path(config.storage, data_dir)))
    return out


def _hub_data_dir(cmdline: list[str], proc: psutil.Process) -> str | None:
    """The absolute data dir of a hub command line (``... autobot-monitor start [--data-dir D]``
    or ``python -m autobot_monitor.cli start ...``), None when ``cmdline`` is no hub."""
    for j, arg in enumerate(cmdline):
        if (os.path.basename(arg) == "autobot-monitor" or arg == "autobot_monitor.cli"
                or arg.endswith("autobot_monitor/cli.py")):
            rest = cmdline[j + 1:]
            break
    else:
        return None
    if not rest or rest[0] not in ("start", "--start"):
        return None
    d = None
    for k, arg in enumerate(rest):
        if arg == "--data-dir" and k + 1 < len(rest):
            d = rest[k + 1]
        elif arg.startswith("--data-dir="):
            d = arg.split("=", 1)[1]
    if d is None:
        d = proc.environ().get("AUTOBOT_MONITOR_DATA_DIR", "data")
    return os.path.normpath(os.path.join(proc.cwd(), d))


def find_hub_process(data_dir: str) -> int | None:
    """Pid of a running hub started with ``data_dir`` (compared as absolute paths), found by
    scanning process command lines (psutil); None when there is none. Processes this user may
    not inspect are skipped."""
    import psutil

    target = os.path.normpath(os.path.abspath(data_dir))
    for p in psutil.process_iter(["cmdline"]):
        if p.pid == os.getpid():
            continue
        try:
            if (_hub_data_dir(p.info["cmdline"] or [], p) == target
                    and p.status() != psutil.STATUS_ZOMBIE):
                pid: int = p.pid
                return pid
        except (psutil.Error, OSError):
            continue
    return None
