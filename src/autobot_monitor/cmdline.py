"""What the subcommands share: the one-line failure message, finding and loading the config, the
hub's pid file, and the API token and error lines of the commands that talk to a hub. Imports nothing heavy at module level (the agent does not pay for pydantic)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config.models import MonitorConfig

TOKEN_ENV = "AUTOBOT_MONITOR_TOKEN"
"""Environment variable a client command reads its API token from."""

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


def load_or_report(path: str | None) -> tuple[MonitorConfig, str | None] | None:
    """:func:`find_and_load_config`, or None after printing each ``FILE:LINE: key: problem`` of
    its :class:`~.errors.ConfigError` to stderr."""
    from .errors import ConfigError

    try:
        return find_and_load_config(path)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return None


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


def add_token_args(s: argparse.ArgumentParser) -> None:
    """``--token-file`` and ``--token`` (default ``$AUTOBOT_MONITOR_TOKEN``) on a client command;
    :func:`resolve_client_token` settles them after parsing."""
    s.add_argument("--token-file", help="file whose first line is the API token sent as a bearer")
    s.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                   help=f"API token sent as a bearer (default ${TOKEN_ENV}); visible to every user "
                        "in ps: prefer --token-file or the variable")


def resolve_client_token(args: argparse.Namespace, argv: list[str]) -> int | None:
    """Fill ``args.token`` from ``--token-file`` (first line), which wins over ``--token`` and the
    environment; warn on stderr when the token was given on the command line. Returns an exit
    code (2) after printing why when the file is unreadable or empty, else None."""
    if any(a == "--token" or a.startswith("--token=") for a in argv):
        print("autobot-monitor: warning: --token shows the token to every user in ps; use "
              f"--token-file FILE or ${TOKEN_ENV}", file=sys.stderr)
    path = getattr(args, "token_file", None)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except (OSError, UnicodeDecodeError) as e:
        print(f"autobot-monitor: --token-file {path}: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    if not token:
        print(f"autobot-monitor: --token-file {path}: empty file", file=sys.stderr)
        return 2
    args.token = token
    return None


def describe_http_error(e: Exception, url: str) -> str:
    """One line for an ``httpx.HTTPError`` from a client command talking to the hub at ``url``:
    401/403 "token missing or refused", 429 "rate limited (429), retry after N s" (N from the
    ``Retry-After`` header when present), another status with the API's ``{"error": ...}``
    message, and "cannot reach the hub" for transport errors."""
    import httpx

    if not isinstance(e, httpx.HTTPStatusError):
        return f"cannot reach the hub at {url}: {e}"
    r = e.response
    if r.status_code in (401, 403):
        return f"hub at {url} answered {r.status_code}: token missing or refused"
    if r.status_code == 429:
        after = r.headers.get("retry-after", "").strip()
        return (f"hub at {url} rate limited (429), retry after {after} s" if after.isdigit()
                else f"hub at {url} rate limited (429), retry later")
    try:
        detail = r.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    return f"hub at {url} answered {r.status_code}" + (f": {str(detail)[:300]}" if detail else "")
