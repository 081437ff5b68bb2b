"""The ``collectors:`` section of the config: roots, which collectors run, their intervals and
per-collector options (pydantic, unknown keys refused). :class:`CollectorsConfig` is what
``hub.inventory.local_runner`` turns into each collector's ``CollectorContext.options``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .base import ConfigModel as _Model


class ProcessesOptions(_Model):
    top_n: int = Field(10, ge=0, le=100)
    scan_interval: float = Field(15.0, ge=1)
    max_processes: int = Field(5000, ge=1)


def _check_regex(v: str | None) -> str | None:
    """``v`` unchanged if RE2 compiles it as the collectors will (``.`` not matching a newline,
    node_exporter's filters), else RegexError, a ValueError: a config error naming the key."""
    from ..regex import check_regex

    return None if v is None else check_regex(v, dot_nl=False)


class SystemdOptions(_Model):
    """``systemd`` collector: RE2 full-match unit filters (None: the collector's defaults,
    ``.+\\.service`` kept, node_exporter's automount/device/mount/scope/slice excluded), the
    manager asked (``user``: ``systemctl --user``), seconds for all systemctl calls of one
    collection."""

    unit_include: str | None = None
    unit_exclude: str | None = None
    scope: Literal["system", "user"] = "system"
    timeout: float = Field(4.0, gt=0, le=60)
    _v_re = field_validator("unit_include", "unit_exclude")(lambda cls, v: _check_regex(v))


class SmartOptions(_Model):
    """``smart`` collector: the smartctl program (None: ``smartctl`` on PATH), devices to query
    (``NAME`` or ``NAME;TYPE``; empty: ``smartctl --scan-open``), RE2 full-match filters on the
    device label, seconds for all smartctl calls of one collection."""

    smartctl_path: str | None = None
    devices: list[str] = Field(default_factory=list)
    device_include: str | None = None
    device_exclude: str | None = None
    timeout: float = Field(4.0, gt=0, le=60)
    _v_re = field_validator("device_include", "device_exclude")(lambda cls, v: _check_regex(v))
class ContainersOptions(_Model):
    """The ``containers`` collector: ``cgroup_root`` (None: ``<sysfs>/fs/cgroup``), extra cgroup
    ``paths``, ``own_cgroup`` (also the agent's own cgroup), ``max_containers`` (cgroups read per
    run), ``sockets`` (Docker-compatible API sockets for names; None: the standard
    ``/run/docker.sock`` and ``/run/podman/podman.sock``; empty: no API), ``api_timeout`` (s)."""

    cgroup_root: str | None = None
    paths: list[str] = Field(default_factory=list)
    own_cgroup: bool = True
    max_containers: int = Field(200, ge=1, le=10000)
    sockets: list[str] | None = None
    api_timeout: float = Field(1.0, gt=0, le=10)


class TextfileOptions(_Model):
    """The textfile collector: ``*.prom`` files of ``directory`` (None: none read), bounded."""

    directory: str | None = None
    max_file_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    max_files: int = Field(1000, ge=1, le=100_000)
    max_samples: int = Field(100_000, ge=1, le=10_000_000)


class CollectorsConfig(_Model):
    """Local collection: roots (like node_exporter's ``--path.*``), which collectors run, and the
    per-collector timeout in seconds."""

    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"
    enabled: list[str] | None = None
    disabled: list[str] = Field(default_factory=list)
    timeout: float = Field(5.0, gt=0, le=60)
    intervals: dict[str, float] = Field(
        default_factory=dict,
        description="seconds between runs per collector name (0: every cycle); the defaults "
                    "are each collector's own (smart 300, processes/systemd/cpufreq 15, "
                    "containers 10, the rest every cycle)")
    processes: ProcessesOptions = ProcessesOptions()
    containers: ContainersOptions = ContainersOptions()
    filesystem: dict[str, str] = Field(default_factory=dict)
    netdev: dict[str, str] = Field(default_factory=dict)
    # node_exporter-style filters (RE2): netstat/vmstat {fields}, arp {device_include, _exclude}
    netstat: dict[str, str] = Field(default_factory=dict)
    vmstat: dict[str, str] = Field(default_factory=dict)
    arp: dict[str, str] = Field(default_factory=dict)

    @field_validator("netstat", "vmstat", "arp")
    @classmethod
    def _regexes(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = ("device_include", "device_exclude") if info.field_name == "arp" else ("fields",)
        for key, pattern in v.items():
            if key not in known:
                raise ValueError(f"unknown option {key!r} (known: {', '.join(known)})")
            _check_regex(pattern)
        return v

    systemd: SystemdOptions = SystemdOptions()
    smart: SmartOptions = SmartOptions()
    textfile: TextfileOptions = TextfileOptions()

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: dict[str, float]) -> dict[str, float]:
        from ..collectors import REGISTRY

        for n, seconds in v.items():
            if n not in REGISTRY:
                raise ValueError(f"unknown collector {n!r} (known: {', '.join(REGISTRY)})")
            if not 0 <= seconds <= 86400:
                raise ValueError(f"{n}: interval {seconds} is not 0..86400 seconds")
        return v

    @field_validator("enabled", "disabled")
    @classmethod
    def _known(cls, v: list[str] | None) -> list[str] | None:
        from ..collectors import REGISTRY

        for n in v or []:
            if n not in REGISTRY:
                raise ValueError(f"unknown collector {n!r} (known: {', '.join(REGISTRY)})")
        return v
