"""The allowlist of actions. Each is built from an :class:`~.model.ActionRef` and the config
(never from request data), runs argument lists only (no shell), and has :meth:`Action.plan`,
the exact steps a dry run prints.

- ``restart_service``: the configured argv (default ``systemctl restart UNIT``), then after
  ``grace`` seconds the service's own check (HTTP/TCP/Redis) as the health check.
- ``disk_cleanup``: regular files under a configured root whose name matches a glob and whose
  mtime is older than N days; the root is opened component by component without following
  symlinks (a symlinked parent is refused), walked with ``os.fwalk`` (directory fds, symlinks
  neither followed nor removed), and each directory re-checked to be under the root right before
  an unlink, so nothing outside the root is reachable; bytes freed reported.
- ``redis_memory_purge``: ``MEMORY PURGE`` on a configured Redis service (deletes nothing).
- ``renice`` / ``cpu_affinity``: ``os.setpriority`` / ``os.sched_setaffinity`` on the processes
  of a configured name; the previous values are returned so :meth:`Action.undo` restores them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import shlex
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import OptimizerError
from .cleanup import walk_cleanup
from .model import ActionRef

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class ActionResult:
    """``ok``; ``summary`` (one line); ``details`` (JSON-safe); ``measured``: figures the action
    itself measured (``*_before``/``*_after``); ``undo_state``: what :meth:`Action.undo` needs
    (reversible actions only)."""

    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, Any] = field(default_factory=dict)
    undo_state: dict[str, Any] | None = None


class Action(abc.ABC):
    type: ClassVar[str]
    reversible: ClassVar[bool] = False

    @abc.abstractmethod
    def plan(self) -> list[str]:
        """What :meth:`apply` would do, step by step (blocking for cleanup: it lists files)."""

    @abc.abstractmethod
    async def apply(self) -> ActionResult: ...

    async def undo(self, state: dict[str, Any]) -> ActionResult:
        raise OptimizerError(f"{self.type} cannot be undone")


# -- restart -------------------------------------------------------------------------------------
class RestartService(Action):
    type = "restart_service"

    def __init__(self, svc_cfg, restart, sleep: Sleep = asyncio.sleep):
        self.svc, self.restart, self.sleep = svc_cfg, restart, sleep

    def plan(self) -> list[str]:
        r = self.restart
        return [f"run {shlex.join(r.argv())} (no shell, timeout {r.timeout:g}s)",
                f"wait {r.grace:g}s", f"health check: the {self.svc.type} check of service {self.svc.name}"]

    async def health(self) -> tuple[bool, float | None, str | None]:
        """(up, response time in s, error) from one run of the service's configured check."""
        from ..checks.runner import make_check

        check = make_check(self.svc)
        try:
            res = await asyncio.wait_for(check.check(), self.svc.timeout)
            return res.up, res.response_time_seconds, res.error
        except Exception as e:  # noqa: BLE001 - any failure is "down"
            return False, None, f"{type(e).__name__}: {e}"[:300]
        finally:
            with contextlib.suppress(Exception):
                await check.aclose()

    async def apply(self) -> ActionResult:
        up0, rt0, _ = await self.health()
        argv = self.restart.argv()
        t0 = time.monotonic()
        # output to a temp file, not a pipe: a daemon the command starts may keep the pipe open,
        # and the command's exit, not EOF, is what we wait for
        with tempfile.TemporaryFile() as outf:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=outf, stderr=outf,
                    start_new_session=True)
            except OSError as e:
                return ActionResult(False, f"cannot run {argv[0]}: {e.strerror}", {"argv": argv},
                                    {"up_before": up0})
            try:
                await asyncio.wait_for(proc.wait(), self.restart.timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
                return ActionResult(False, f"{argv[0]} ran past {self.restart.timeout:g}s and was killed",
                                    {"argv": argv}, {"up_before": up0})
            outf.seek(max(0, os.fstat(outf.fileno()).st_size - 500))
            out = outf.read()
        cmd_s = time.monotonic() - t0
        await self.sleep(self.restart.grace)
        up1, rt1, err1 = await self.health()
        tail = out.decode(errors="replace") if out else ""
        ok = proc.returncode == 0 and up1
        what = (f"exit {proc.returncode}" if proc.returncode else "command ok") + \
            f", health check {'up' if up1 else 'down'}" + (f" ({err1})" if err1 and not up1 else "")
        return ActionResult(ok, f"restarted {self.svc.name}: {what}",
                            {"argv": argv, "returncode": proc.returncode, "output_tail": tail,
                             "command_seconds": round(cmd_s, 3), "grace_seconds": self.restart.grace},
                            {"up_before": up0, "up_after": up1, "response_time_seconds_before": rt0,
                             "response_time_seconds_after": rt1})


# -- disk cleanup --------------------------------------------------------------------------------
def _free_bytes(path: str) -> int | None:
    try:
        v = os.statvfs(path)
        return v.f_bavail * v.f_frsize
    except OSError:
        return None


class DiskCleanup(Action):
    type = "disk_cleanup"

    def __init__(self, root_cfg, clock):
        self.root, self.clock = root_cfg, clock

    def plan(self) -> list[str]:
        r = self.root
        found = walk_cleanup(r, self.clock.time())
        lines = [f"remove regular files under {r.path} matching {', '.join(r.globs)} older than "
                 f"{r.older_than_days:g} days (symlinks not followed): {found['files']} file(s), "
                 f"{found['bytes']} bytes"]
        lines += [f"remove {p}" for p in found["paths"]]
        if found["files"] > len(found["paths"]):
            lines.append(f"... and {found['files'] - len(found['paths'])} more")
        return lines

    async def apply(self) -> ActionResult:
        free0 = await asyncio.to_thread(_free_bytes, self.root.path)
        res = await asyncio.to_thread(walk_cleanup, self.root, self.clock.time(), True)
        free1 = await asyncio.to_thread(_free_bytes, self.root.path)
        return ActionResult(not res["errors"] or res["files"] > 0,
                            f"removed {res['files']} file(s), {res['bytes']} bytes under {self.root.path}",
                            {"root": self.root.path, "files": res["files"], "bytes_removed": res["bytes"],
                             "paths": res["paths"], "errors": res["errors"], "truncated": res["truncated"]},
                            {"bytes_removed": res["bytes"], "fs_free_bytes_before": free0,
                             "fs_free_bytes_after": free1})


# -- redis ---------------------------------------------------------------------------------------
def redis_client(svc):
    """An asyncio Redis client for a configured :class:`RedisService` (password from its env)."""
    import redis.asyncio as aioredis

    from ..secret_registry import register_secret

    host, _, port = svc.address.rpartition(":")
    password = os.environ.get(svc.password_env) if svc.password_env else None
    if password:
        register_secret(password)
    return aioredis.Redis(host=host.strip("[]"), port=int(port), db=svc.db, username=svc.username,
                          password=password, ssl=svc.tls, socket_timeout=svc.timeout,
                          socket_connect_timeout=svc.timeout, decode_responses=True,
                          client_name="autobot-monitor-optimizer", protocol=2)


class RedisMemoryPurge(Action):
    type = "redis_memory_purge"

    def __init__(self, svc_cfg):
        self.svc = svc_cfg

    def plan(self) -> list[str]:
        return [f"connect to Redis service {self.svc.name} ({self.svc.address}, db {self.svc.db})",
                "INFO memory (before)", "MEMORY PURGE", "INFO memory (after)"]

    async def apply(self) -> ActionResult:
        from ..checks.base import describe
        from ..secret_registry import redact

        client = redis_client(self.svc)
        try:
            before = await client.info("memory")
            reply = await client.execute_command("MEMORY", "PURGE")
            after = await client.info("memory")
        except Exception as e:  # noqa: BLE001 - reported as a failed action
            return ActionResult(False, f"MEMORY PURGE on {self.svc.name} failed: {redact(describe(e))}")
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
        m = {f"{k}_{w}": d.get(k) for w, d in (("before", before), ("after", after))
             for k in ("used_memory_rss", "mem_fragmentation_ratio", "allocator_frag_ratio")}
        return ActionResult(True, f"MEMORY PURGE on {self.svc.name}: {reply}; RSS "
                            f"{m['used_memory_rss_before']} -> {m['used_memory_rss_after']} bytes",
                            {"reply": str(reply), "allocator": before.get("mem_allocator")}, m)


# -- process priority / affinity -----------------------------------------------------------------
def find_processes(name: str) -> list[tuple[int, float]]:
    """(pid, create_time) of every process whose comm is ``name`` (this process excluded)."""
    import psutil

    out = []
    for p in psutil.process_iter(["name", "create_time"]):
        if p.info["name"] == name and p.pid != os.getpid():
            out.append((p.pid, p.info["create_time"]))
    return out


def _same_process(pid: int, create_time: float) -> bool:
    import psutil

    try:
        return abs(psutil.Process(pid).create_time() - create_time) < 0.01
    except psutil.Error:
        return False


class _ProcessAction(Action):
    reversible = True
    what = ""

    def __init__(self, tune):
        self.tune = tune

    def _get(self, pid: int) -> Any: ...

    def _set(self, pid: int, value: Any) -> None: ...

    def _target(self) -> Any: ...

    def plan(self) -> list[str]:
        procs = find_processes(self.tune.name)
        if not procs:
            return [f"no process named {self.tune.name} now: nothing to do"]
        lines = []
        for pid, _ in procs:
            try:
                cur = self._get(pid)
            except OSError as e:
                cur = f"unreadable: {e.strerror}"
            lines.append(f"{self.what} of pid {pid} ({self.tune.name}): {cur} -> {self._target()} "
                         "(previous value recorded for undo)")
        return lines

    async def apply(self) -> ActionResult:
        return await asyncio.to_thread(self._apply)

    def _apply(self) -> ActionResult:
        procs = find_processes(self.tune.name)
        if not procs:
            return ActionResult(False, f"no process named {self.tune.name}")
        state: dict[str, Any] = {"pids": {}}
        errors = []
        for pid, ct in procs:
            try:
                old = self._get(pid)
                self._set(pid, self._target())
                state["pids"][str(pid)] = {"old": old, "create_time": ct}
            except OSError as e:
                errors.append(f"pid {pid}: {e.strerror}")
        n = len(state["pids"])
        return ActionResult(n > 0, f"{self.what} {self._target()} on {n} {self.tune.name} process(es)"
                            + (f"; {len(errors)} failed" if errors else ""),
                            {"pids": sorted(state["pids"]), "errors": errors},
                            {"previous": {p: v["old"] for p, v in state["pids"].items()}},
                            state if n else None)

    async def undo(self, state: dict[str, Any]) -> ActionResult:
        return await asyncio.to_thread(self._undo, state)

    def _undo(self, state: dict[str, Any]) -> ActionResult:
        done, errors = [], []
        for pid_s, v in (state.get("pids") or {}).items():
            pid = int(pid_s)
            if not _same_process(pid, v["create_time"]):
                errors.append(f"pid {pid}: gone (nothing to restore)")
                continue
            try:
                self._set(pid, v["old"])
                done.append(pid)
            except OSError as e:
                errors.append(f"pid {pid}: {e.strerror}")
        return ActionResult(bool(done) or not errors, f"restored {self.what} on {len(done)} process(es)",
                            {"restored": done, "errors": errors})


class Renice(_ProcessAction):
    type = "renice"
    what = "nice"

    def _get(self, pid: int) -> int:
        return os.getpriority(os.PRIO_PROCESS, pid)

    def _set(self, pid: int, value: int) -> None:
        os.setpriority(os.PRIO_PROCESS, pid, int(value))

    def _target(self) -> int:
        return self.tune.nice


class CpuAffinity(_ProcessAction):
    type = "cpu_affinity"
    what = "CPU affinity"

    def _get(self, pid: int) -> list[int]:
        return sorted(os.sched_getaffinity(pid))

    def _set(self, pid: int, value: list[int]) -> None:
        os.sched_setaffinity(pid, value)

    def _target(self) -> list[int]:
        return list(self.tune.cpus)


ACTIONS: dict[str, type[Action]] = {c.type: c for c in (RestartService, DiskCleanup, RedisMemoryPurge,
                                                         Renice, CpuAffinity)}
"""The allowlist: nothing else can run."""
LOCAL_ONLY = ("disk_cleanup", "renice", "cpu_affinity")


def build_action(ref: ActionRef, cfg, local_host: str | None, clock, sleep: Sleep = asyncio.sleep) -> Action:
    """The :class:`Action` for ``ref`` from the config ``cfg`` (a MonitorConfig). Raises
    :class:`OptimizerError` for a type outside :data:`ACTIONS`, a target the config does not name,
    or a local-only action on another host."""
    if ref.type not in ACTIONS:
        raise OptimizerError(f"action {ref.type!r} is not in the allowlist")
    opt = cfg.optimizer
    if ref.type in LOCAL_ONLY and ref.host not in (None, local_host):
        raise OptimizerError(f"{ref.type} runs on the hub's own host only, not {ref.host}")
    if ref.type == "restart_service":
        svc = next((s for s in cfg.services if s.name == ref.target), None)
        restart = opt.service(ref.target)
        if svc is None or restart is None:
            raise OptimizerError(f"service {ref.target!r} has no optimizer.services restart entry")
        return RestartService(svc, restart, sleep)
    if ref.type == "disk_cleanup":
        root = next((c for c in opt.cleanup if c.path == ref.target), None)
        if root is None:
            raise OptimizerError(f"{ref.target!r} is not a configured optimizer.cleanup path")
        return DiskCleanup(root, clock)
    if ref.type == "redis_memory_purge":
        svc = next((s for s in cfg.services if s.name == ref.target and s.type == "redis"), None)
        if svc is None or not opt.redis_memory_purge:
            raise OptimizerError(f"{ref.target!r} is not a configured Redis service with "
                                 "optimizer.redis_memory_purge enabled")
        return RedisMemoryPurge(svc)
    tune = opt.process(ref.target)
    if tune is None or (ref.type == "renice" and tune.nice is None) or \
            (ref.type == "cpu_affinity" and tune.cpus is None):
        raise OptimizerError(f"process {ref.target!r} has no optimizer.processes entry for {ref.type}")
    return (Renice if ref.type == "renice" else CpuAffinity)(tune)
