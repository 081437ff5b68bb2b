"""The ``optimizer:`` config section (pydantic, unknown keys refused).

Everything an action may touch is named here and nowhere else: the restart command of each
service, the cleanup roots with their globs and age, the processes whose priority or CPU affinity
may change, and whether ``MEMORY PURGE`` may run on configured Redis services. A request (API or
CLI) only ever picks a recommendation by id; it never supplies a command, a path or a pid.

::

    optimizer:
      history_window: 1h        # stored history the analyzers read
      settle_time: 2m           # wait after an action before measuring "after"
      measure_window: 5m        # length of the before and after windows
      cooldown: 30m             # per action target
      restart_limit: {max_restarts: 3, within_cycles: 5}   # Monit-style give-up
      services:
        - service: web          # a configured services[] check, used as the health check
          unit: web.service     # systemd unit (default: <service>.service) ...
          command: [/usr/local/bin/restart-web]   # ... or an argv list instead of systemctl
          grace: 5s             # wait before the health check
          process: gunicorn     # process name whose memory growth suggests a restart
      cleanup:
        - path: /var/tmp/autobot
          globs: ["*.tmp", "*.log.[0-9]*", "*.gz"]
          older_than_days: 7
      processes:
        - name: ollama
          nice: 10              # niceness to set (-20..19)
          cpus: [2, 3]          # CPU affinity to set
      redis_memory_purge: true
"""

from __future__ import annotations

import fnmatch
import os
import random
import re
import string

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..timeparse import parse_duration

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_PROC = re.compile(r"^[^/\x00]{1,15}$")  # a comm name: at most 15 bytes, no '/'


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RestartLimit(_M):
    """Give up restarting a service after ``max_restarts`` within ``within_cycles`` optimizer
    cycles (then alert, and hold until the service is seen up)."""

    max_restarts: int = Field(3, ge=1, le=100)
    within_cycles: int = Field(5, ge=1, le=1000)


class ServiceAction(_M):
    """How to restart one configured service."""

    service: str
    unit: str | None = Field(None, description="systemd unit; default <service>.service")
    command: list[str] | None = Field(None, description="argv list run instead of systemctl")
    grace: float = Field(5.0, ge=0, le=600, description="seconds before the health check")
    timeout: float = Field(60.0, gt=0, le=600, description="seconds the command may take")
    process: str | None = Field(None, description="process name (comm) of the service")

    @field_validator("grace", "timeout", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)

    @field_validator("command")
    @classmethod
    def _argv(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v or not v[0]:
                raise ValueError("must be a non-empty argument list")
            if any("\x00" in a for a in v):
                raise ValueError("arguments must not contain NUL")
        return v

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z0-9@._:-]{1,255}$", v):
            raise ValueError("not a systemd unit name")
        return v

    @field_validator("process")
    @classmethod
    def _proc(cls, v: str | None) -> str | None:
        if v is not None and not _PROC.match(v):
            raise ValueError("must be a process name (comm, 1-15 characters, no '/')")
        return v

    def argv(self) -> list[str]:
        """The restart command: ``command`` or ``systemctl restart UNIT``."""
        return list(self.command) if self.command else \
            ["systemctl", "restart", self.unit or f"{self.service}.service"]


def _probe_names() -> tuple[str, ...]:
    """File names a cleanup glob is tried on: each printable ASCII first character (but ``.``)
    with a few tails, odd names (spaces, non-ASCII, 255 bytes, trailing dots) and 64
    pseudo-random names (fixed seed, so a config is judged the same every time)."""
    printable = [chr(c) for c in range(33, 127) if chr(c) not in "./"]
    names = [c + tail for c in printable for tail in ("", "x", "1.y", "~")]
    names += ["core", "README", "data.db", "name with space", "ünïcødé", "x" * 255, "trail.",
              "a.b.c.d", "-rf", "#tmp#", "\t", "\n", "日本"]
    rnd = random.Random(16)
    alphabet = string.ascii_letters + string.digits + "._-~#%@+ "
    for _ in range(64):
        first = rnd.choice(string.ascii_letters + string.digits + "_-")
        names.append(first + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))))
    return tuple(names)


PROBE_NAMES = _probe_names()

REAL_NAMES = (
    "notes.txt", "db.sqlite", "app.log", ".bashrc", ".profile", "id_rsa", "id_rsa.pub",
    "config.yaml", "settings.json", "main.py", "index.html", "style.css", "app.js", "Makefile",
    "Dockerfile", "README.md", "LICENSE", "report.pdf", "photo.jpg", "logo.png", "data.csv",
    "backup.tar.gz", "dump.rdb", "appendonly.aof", "server.key", "server.crt", "known_hosts",
    "authorized_keys", "passwd", "shadow", "hosts", "fstab", "crontab", "nginx.conf",
    "redis.conf", "prometheus.yml", "app.pid", "session.lock", "cache.bin", "model.gguf",
    "weights.safetensors", "requirements.txt", "package.json", "go.mod", "Cargo.toml", "vmlinuz",
    "initrd.img", "libc.so.6", "python3", "bash", "history", ".env", ".gitconfig", "id_ed25519",
)
"""Names of files people keep (config, keys, data, code, binaries): a cleanup glob meant for
leftovers (``*.tmp``, ``*.log.[0-9]*``, ``core.*``) matches few of them."""

PROBE_MAX_SHARE = 0.5
"""Cleanup globs matching more than this share of :data:`PROBE_NAMES` are refused."""

REAL_MAX_SHARE = 0.25
"""Cleanup globs matching more than this share of :data:`REAL_NAMES` are refused (``*.*``,
``*e*,*a*,*o*,...``)."""


def globs_probe_hits(globs: list[str], names: tuple[str, ...] = PROBE_NAMES) -> int:
    """How many of ``names`` (default :data:`PROBE_NAMES`) one of ``globs`` matches (as the
    cleanup matches them, :func:`fnmatch.fnmatchcase`). ``*``, ``?*``, ``*?``, ``[!.]*`` match
    all of them, ``[!q]*`` nearly all: breadth is judged by testing, not by spelling."""
    return sum(1 for n in names if any(fnmatch.fnmatchcase(n, g) for g in globs))


def _too_broad(globs: list[str]) -> str | None:
    """Why ``globs`` are too broad for a cleanup (a message), or None when they are narrow."""
    for names, share, what in ((PROBE_NAMES, PROBE_MAX_SHARE, "probe file names"),
                               (REAL_NAMES, REAL_MAX_SHARE, "common file names")):
        hits = globs_probe_hits(globs, names)
        if hits > share * len(names):
            return (f"globs {globs} match {hits} of {len(names)} {what} (more than {share:.0%}): "
                    "too broad, they match most files; name the files, e.g. '*.tmp'")
    return None


def _symlink_free(path: str) -> str:
    """``path`` (absolute, normalised) when no component of it is a symlink now; ValueError
    naming the real path otherwise. Components that do not exist yet are not checked here (the
    cleanup re-checks each component with ``O_NOFOLLOW`` when it runs)."""
    real = os.path.realpath(path)
    if real != path:
        raise ValueError(f"{path} goes through a symlink (real path {real}); symlinks are not "
                         "followed by the cleanup, give the real path")
    return path


class CleanupPath(_M):
    """Files under ``path`` (absolute) whose name matches one of ``globs`` and that were last
    modified more than ``older_than_days`` ago. Symlinks are never followed nor removed; a path
    through a symlink is refused here (config time) and again when the cleanup runs. Globs that
    together match more than half of :data:`PROBE_NAMES` (``*``, ``?*``, ``[!.]*``...) or a
    quarter of :data:`REAL_NAMES` (``*.*``, ``*e*,*a*,...``) are refused."""

    path: str
    globs: list[str] = Field(min_length=1)
    older_than_days: float = Field(7.0, ge=0)
    max_files: int = Field(10_000, ge=1, le=1_000_000, description="files removed per run at most")

    @field_validator("path")
    @classmethod
    def _abs(cls, v: str) -> str:
        if not os.path.isabs(v):
            raise ValueError("must be an absolute path")
        norm = os.path.normpath(v)
        if norm == "/" or ".." in v.split("/"):
            raise ValueError("must be a directory below / without '..'")
        return _symlink_free(norm)

    @field_validator("globs")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for g in v:
            if not g or "/" in g or "\x00" in g:
                raise ValueError(f"glob {g!r}: must match file names (no '/')")
        why = _too_broad(v)
        if why:
            raise ValueError(why)
        return v


class ProcessTuning(_M):
    """Priority and CPU affinity the optimizer may give processes called ``name`` (comm)."""

    name: str
    nice: int | None = Field(None, ge=-20, le=19)
    cpus: list[int] | None = Field(None, min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _PROC.match(v):
            raise ValueError("must be a process name (comm, 1-15 characters, no '/')")
        return v

    @field_validator("cpus")
    @classmethod
    def _cpus(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(c < 0 or c > 4095 for c in v):
            raise ValueError("CPU numbers must be 0-4095")
        return sorted(set(v)) if v else v

    @model_validator(mode="after")
    def _something(self) -> ProcessTuning:
        if self.nice is None and self.cpus is None:
            raise ValueError("give nice, cpus or both")
        return self


class AnalyzerThresholds(_M):
    """Analyzer settings beyond ``alert_thresholds`` (which give CPU, memory, disk and response
    time limits)."""

    leak_min_bytes_per_hour: float = Field(50 * 1024 * 1024, gt=0)
    swap_used_percent: float = Field(50.0, gt=0, le=100)
    load_per_cpu: float = Field(2.0, gt=0)
    disk_full_horizon: float = Field(7 * 86400, gt=0, description="seconds; warn when full sooner")
    redis_fragmentation_ratio: float = Field(1.5, gt=1)
    redis_min_memory_bytes: float = Field(64 * 1024 * 1024, ge=0,
                                          description="fragmentation below this is ignored")
    redis_slowlog_entries: int = Field(1, ge=1)
    mesh_loss_ratio: float = Field(0.01, gt=0, le=1)
    mesh_latency_seconds: float = Field(0.005, gt=0)
    temperature_celsius: float = Field(80.0, gt=0)
    gpu_temperature_celsius: float = Field(75.0, gt=0)
    cleanup_min_bytes: float = Field(100 * 1024 * 1024, ge=0,
                                     description="reclaimable bytes worth a low recommendation")

    @field_validator("disk_full_horizon", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)


class OptimizerConfig(_M):
    """The ``optimizer:`` section; see the module docstring."""

    history_window: float = 3600.0
    settle_time: float = 120.0
    measure_window: float = 300.0
    cooldown: float = 1800.0
    restart_limit: RestartLimit = RestartLimit()
    services: list[ServiceAction] = Field(default_factory=list)
    cleanup: list[CleanupPath] = Field(default_factory=list)
    processes: list[ProcessTuning] = Field(default_factory=list)
    redis_memory_purge: bool = True
    thresholds: AnalyzerThresholds = AnalyzerThresholds()
    audit_max_bytes: int = Field(5 * 1024 * 1024, ge=4096)
    audit_backup_count: int = Field(3, ge=1, le=50)

    @field_validator("history_window", "settle_time", "measure_window", "cooldown", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)

    @field_validator("services", "processes")
    @classmethod
    def _unique(cls, items: list) -> list:
        seen: set[str] = set()
        for it in items:
            key = getattr(it, "service", None) or it.name
            if key in seen:
                raise ValueError(f"{key!r} is listed twice")
            seen.add(key)
        return items

    def service(self, name: str) -> ServiceAction | None:
        return next((s for s in self.services if s.service == name), None)

    def process(self, name: str) -> ProcessTuning | None:
        return next((p for p in self.processes if p.name == name), None)
