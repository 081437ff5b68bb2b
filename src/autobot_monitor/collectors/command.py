"""Bounded external commands for collectors that ask a tool (``systemctl``, ``smartctl``).

:func:`run_command` starts ``argv`` (a list, never a shell) in its own session with stdin closed
and stderr discarded, reads at most ``max_bytes`` of its stdout, and waits at most ``timeout``
seconds. A command that runs past its timeout or writes more than ``max_bytes`` is killed with its
whole process group (so a wrapper script's children die too) and reported as such; its partial
output is discarded. It never raises for the command's behaviour: the outcome is a
:class:`CommandResult`.

Collectors take the runner as an injectable function of type :data:`CommandRunner`, so tests can
replay recorded answers through the same parsing code, or put a fake tool on ``PATH``.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

MAX_OUTPUT = 4 * 1024 * 1024
"""Default cap on a command's stdout, bytes."""

Status = Literal["ok", "missing", "timeout", "too_large"]


@dataclass(frozen=True)
class CommandResult:
    """``status``: ``ok`` (it exited; ``returncode`` and ``stdout`` are set), ``missing`` (the
    program is not there or not executable), ``timeout`` or ``too_large`` (killed; no output)."""

    status: Status
    returncode: int | None = None
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


CommandRunner = Callable[[Sequence[str], float], CommandResult]
"""``(argv, timeout seconds) -> CommandResult``: what collectors call to run a tool."""


def run_command(argv: Sequence[str], timeout: float, *, max_bytes: int = MAX_OUTPUT,
                env: Mapping[str, str] | None = None) -> CommandResult:
    """Run ``argv`` (``argv[0]`` looked up on ``PATH``) for at most ``timeout`` seconds and return
    its exit status and stdout (UTF-8, undecodable bytes replaced). ``env`` entries are added to
    the inherited environment. Never raises for a missing program, a non-zero exit, a hang or a
    flood of output (see :class:`CommandResult`)."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=full_env, start_new_session=True)
    except OSError:  # FileNotFoundError, PermissionError, ENOEXEC...
        return CommandResult("missing")
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    status: Status = "ok"
    with proc.stdout, selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                status = "timeout"
                break
            if not sel.select(left):
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            size += len(data)
            if size > max_bytes:
                status = "too_large"
                break
            chunks.append(data)
    if status == "ok":
        try:
            rc = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # closed stdout but kept running
            status = "timeout"
    if status != "ok":
        _kill(proc)
        return CommandResult(status)
    return CommandResult("ok", rc, b"".join(chunks).decode("utf-8", "replace"))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``proc``'s process group (it leads its own session) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        pass
    proc.wait()
