"""What the host runs: the kernel (``uname``, from the ``uname(2)`` system call), the
distribution (``os``, from ``os-release``) and SELinux (``selinux``), exported like
node_exporter's collectors of those names."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
from collections.abc import Callable

from ..errors import CollectorError
from ..model import MetricFamily, MetricSpec
from .base import Collector
from .filecache import read_bounded

_UTS_LEN = 65  # Linux's __NEW_UTS_LEN + 1
UNAME_FIELDS = ("sysname", "nodename", "release", "version", "machine", "domainname")


class Utsname(ctypes.Structure):
    """Linux ``struct utsname``: six NUL-terminated 65-byte strings."""

    _fields_ = [(n, ctypes.c_char * _UTS_LEN) for n in UNAME_FIELDS]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def read_uname() -> dict[str, str]:
    """``{sysname, nodename, release, version, machine, domainname}`` of this process's UTS
    namespace (``os.uname()`` lacks ``domainname``). Raises :class:`CollectorError` when the
    call fails."""
    u = Utsname()
    try:
        rc = _libc().uname(ctypes.byref(u))
    except (OSError, AttributeError) as e:
        raise CollectorError(f"uname unavailable: {e}") from e
    if rc != 0:
        raise CollectorError(f"uname failed: errno {ctypes.get_errno()}")
    return {n: getattr(u, n).decode("utf-8", "replace") for n in UNAME_FIELDS}


class UnameCollector(Collector):
    """Emits ``node_uname_info`` (value 1) labelled with the six ``uname(2)`` strings
    (``domainname`` is ``(none)`` when unset, as the kernel spells it). Raises
    :class:`CollectorError` only if the system call fails. ``read`` is the syscall wrapper
    (:func:`read_uname`), replaceable to replay recorded answers."""

    name = "uname"
    isolate = False
    SPECS = (MetricSpec("node_uname_info", "info",
                        "Labeled system information as provided by the uname system call.",
                        labels=UNAME_FIELDS),)
    read: Callable[[], dict[str, str]] = staticmethod(read_uname)

    def collect(self) -> list[MetricFamily]:
        fam = self.SPECS[0].family()
        fam.add(1, self.read())
        return [fam]


#: os-release keys -> node_os_info labels, node_exporter 1.5's set.
OS_KEYS = {"BUILD_ID": "build_id", "ID": "id", "ID_LIKE": "id_like", "IMAGE_ID": "image_id",
           "IMAGE_VERSION": "image_version", "NAME": "name", "PRETTY_NAME": "pretty_name",
           "VARIANT": "variant", "VARIANT_ID": "variant_id", "VERSION": "version",
           "VERSION_CODENAME": "version_codename", "VERSION_ID": "version_id"}
_VERSION_RE = re.compile(r"^[0-9]+\.?[0-9]*")
_ASSIGN_RE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_ESCAPES = {"\\": "\\", '"': '"', "$": "$", "`": "`", "n": "\n"}


def parse_os_release(text: str) -> dict[str, str]:
    """``{KEY: value}`` from os-release(5) text: ``KEY=value`` lines, values unquoted,
    ``"double quoted"`` (backslash escapes) or ``'single quoted'``; comments, blank and
    malformed lines skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _ASSIGN_RE.match(line.strip())
        if m is None:
            continue
        raw = m.group(2).strip()
        if raw[:1] == "'":
            end = raw.find("'", 1)
            value = raw[1:end] if end > 0 else None
        elif raw[:1] == '"':
            value = _unquote(raw)
        else:
            value = raw.split(" #", 1)[0].strip()
        if value is not None:
            out[m.group(1)] = value
    return out


def _unquote(raw: str) -> str | None:
    """The content of a double-quoted value, or ``None`` when the quote is not closed."""
    chars: list[str] = []
    i = 1
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            chars.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == '"':
            return "".join(chars)
        chars.append(c)
        i += 1
    return None


class OsCollector(Collector):
    """Emits ``node_os_info`` (value 1) labelled with the :data:`OS_KEYS` of the first readable
    of ``<rootfs>/etc/os-release`` and ``<rootfs>/usr/lib/os-release`` (a key not in the file
    is an empty label), and ``node_os_version`` labelled ``id``, ``id_like``, ``name``: the
    leading ``major.minor`` number of ``VERSION_ID`` (absent when there is none or it is 0).
    Neither file readable: nothing. Never raises.
    """

    name = "os"
    isolate = False
    SPECS = (
        MetricSpec("node_os_info", "info",
                   "A metric with a constant '1' value labeled by build_id, id, id_like, "
                   "image_id, image_version, name, pretty_name, variant, variant_id, version, "
                   "version_codename, version_id.", labels=tuple(sorted(OS_KEYS.values()))),
        MetricSpec("node_os_version", "gauge",
                   "Metric containing the major.minor part of the OS version.",
                   labels=("id", "id_like", "name")),
    )

    def collect(self) -> list[MetricFamily]:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            text = read_bounded(self.ctx.root(path), 64 * 1024)
            if text is not None:
                break
        else:
            return []
        env = parse_os_release(text)
        labels = {label: env.get(key, "") for key, label in OS_KEYS.items()}
        info = self.SPECS[0].family()
        info.add(1, labels)
        out = [info]
        m = _VERSION_RE.match(labels["version_id"])
        version = float(m.group(0)) if m else 0.0
        if version > 0:
            fam = self.SPECS[1].family()
            fam.add(version, {k: labels[k] for k in ("id", "id_like", "name")})
            out.append(fam)
        return out


#: /etc/selinux/config SELINUX= -> mode, as go-selinux maps it (anything else: disabled, -1).
_SELINUX_MODES = {"enforcing": 1, "permissive": 0}


class SelinuxCollector(Collector):
    """Emits ``node_selinux_enabled`` (1 or 0) and, when enabled, ``node_selinux_config_mode``
    (``SELINUX=`` of ``<rootfs>/etc/selinux/config``: 1 enforcing, 0 permissive, -1 otherwise)
    and ``node_selinux_current_mode`` (``<sysfs>/fs/selinux/enforce``: 1 enforcing, 0
    permissive, -1 unreadable), like node_exporter (go-selinux). Enabled means: a writable
    selinuxfs at ``<sysfs>/fs/selinux`` (its ``enforce`` file exists; a read-only mount is how
    containers say "disabled") and this process's label (``<procfs>/self/attr/current``) is not
    ``kernel`` (no policy loaded). Never raises.
    """

    name = "selinux"
    isolate = False  # sysfs attributes computed in memory by the kernel: they never block
    SPECS = (
        MetricSpec("node_selinux_enabled", "gauge", "SELinux is enabled, 1 is true, 0 is false"),
        MetricSpec("node_selinux_config_mode", "gauge", "Configured SELinux enforcement mode"),
        MetricSpec("node_selinux_current_mode", "gauge", "Current SELinux enforcement mode"),
    )

    def collect(self) -> list[MetricFamily]:
        fs = self.ctx.sys("fs", "selinux")
        label = (read_bounded(self.ctx.proc("self", "attr", "current"), 4096) or "").strip("\0\n ")
        try:
            writable = os.path.isfile(os.path.join(fs, "enforce")) and \
                not os.statvfs(fs).f_flag & os.ST_RDONLY
        except OSError:
            writable = False
        enabled = writable and label != "kernel"
        fams = [self.SPECS[0].family()]
        fams[0].add(1 if enabled else 0)
        if enabled:
            cfg = parse_os_release(read_bounded(self.ctx.root("/etc/selinux/config"), 64 * 1024)
                                   or "")
            current = (read_bounded(os.path.join(fs, "enforce"), 64) or "").strip()
            for spec, v in ((self.SPECS[1], _SELINUX_MODES.get(cfg.get("SELINUX", ""), -1)),
                            (self.SPECS[2], int(current) if current in ("0", "1") else -1)):
                fam = spec.family()
                fam.add(v)
                fams.append(fam)
        return fams
