"""Which cgroups are containers or services, found by path pattern, and their names from the path.

Patterns (paths relative to a hierarchy root):

- ``.../docker-<64 hex>.scope``, ``libpod-``, ``crio-``, ``cri-containerd-`` (systemd cgroup
  driver) and ``/docker/<64 hex>``, ``/libpod_parent/libpod-<64 hex>`` (cgroupfs driver);
- Kubernetes: pod cgroups ``.../kubepods...pod<uid>[.slice]`` and their containers (a 64-hex
  leaf under ``/kubepods``, or a runtime scope as above);
- ``/machine.slice/<unit>.scope`` (systemd-machined: VMs and nspawn containers);
- ``*.service`` under ``/system.slice``.

A matched cgroup's descendants are not searched (they are the container's own insides).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

HEX64 = "[0-9a-f]{64}"
_SCOPE = re.compile(rf"(?:^|/)(docker|libpod|crio|cri-containerd)-({HEX64})\.scope$")
_DOCKER_FS = re.compile(rf"^/docker/({HEX64})$")
_LIBPOD_FS = re.compile(rf"^/libpod_parent/libpod-({HEX64})$")
_KUBE_LEAF = re.compile(rf"^/kubepods[^/]*/(?:.+/)?({HEX64})$")
_KUBE_POD = re.compile(r"^/kubepods[^/]*/(?:.+/)?(?:kubepods-[a-z]+-)?pod([0-9a-f_-]{36})(?:\.slice)?$")
_MACHINE = re.compile(r"^/machine\.slice/([^/]+\.scope)$")
_SERVICE = re.compile(r"^/system\.slice/(?:[^/]+\.slice/)*([^/]+\.service)$")
#: runtimes whose ids the Docker-compatible API (Docker, Podman) knows
API_RUNTIMES = ("docker", "libpod")


@dataclass(frozen=True, slots=True)
class Match:
    """A cgroup found by pattern: ``kind`` (``docker``, ``libpod``, ``crio``, ``cri-containerd``,
    ``kubepods``, ``pod``, ``machine``, ``service`` or ``path`` for an explicit one), the
    container ``cid`` (64 hex) when the path holds one, and the ``name`` derived from the path."""

    path: str
    kind: str
    cid: str | None
    name: str


def _unescape_systemd(name: str) -> str:
    r"""systemd unit-name escapes ``\xNN`` -> the character (``machine-qemu\x2d1.scope``)."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), name)


def classify(path: str) -> Match | None:
    """The :class:`Match` for cgroup ``path`` if it is a container, pod, machine or service."""
    m = _SCOPE.search(path)
    if m:
        return Match(path, m.group(1), m.group(2), m.group(2)[:12])
    for rx, kind in ((_DOCKER_FS, "docker"), (_LIBPOD_FS, "libpod"), (_KUBE_LEAF, "kubepods")):
        m = rx.match(path)
        if m:
            return Match(path, kind, m.group(1), m.group(1)[:12])
    m = _KUBE_POD.match(path)
    if m:
        return Match(path, "pod", None, "pod" + m.group(1).replace("_", "-"))
    m = _MACHINE.match(path)
    if m:
        return Match(path, "machine", None, _unescape_systemd(m.group(1)))
    m = _SERVICE.match(path)
    if m:
        return Match(path, "service", None, _unescape_systemd(m.group(1)))
    return None


def explicit(path: str) -> Match:
    """A :class:`Match` for a cgroup path given by option (named after its last component)."""
    norm = "/" + path.strip("/")
    found = classify(norm)
    if found is not None:
        return found
    return Match(norm, "path", None, os.path.basename(norm) or "/")


def _is_pod(path: str) -> bool:
    return _KUBE_POD.match(path) is not None


def discover(hierarchy_dirs: list[str], max_scan: int = 10000,
             max_depth: int = 10) -> tuple[list[Match], bool]:
    """Walk each hierarchy directory (no symlinks followed, at most ``max_depth`` levels and
    ``max_scan`` directories in all) -> ``(matches sorted by path, complete)``; ``complete`` is
    False when the scan stopped at ``max_scan``. A path present in several hierarchies is one
    match. Unreadable or vanishing directories are skipped."""
    found: dict[str, Match] = {}
    scanned = 0
    for base in hierarchy_dirs:
        stack: list[tuple[str, int]] = [("", 0)]
        while stack:
            rel, depth = stack.pop()
            try:
                with os.scandir(os.path.join(base, rel.lstrip("/")) if rel else base) as it:
                    children = [e.name for e in it if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            for name in sorted(children, reverse=True):
                scanned += 1
                if scanned > max_scan:
                    return sorted(found.values(), key=lambda m: m.path), False
                path = f"{rel}/{name}"
                match = path in found and found[path] or classify(path)
                if match is not None:
                    found[path] = match
                    if not _is_pod(path):
                        continue  # a pod's containers are below it
                if depth + 1 < max_depth:
                    stack.append((path, depth + 1))
    return sorted(found.values(), key=lambda m: m.path), True
