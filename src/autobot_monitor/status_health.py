"""The ``status`` command's host health: a table of PSI, clock, failed systemd units and
S.M.A.R.T. failures per host, and each host's busiest containers, from the hub's per-host
``summary`` (``GET /api/metrics/current``). What the hub did not measure prints as ``n/m``.

Unit, container and device names come from the monitored hosts: control characters in them
print as ``\\x1b`` (rich keeps ESC), and they go into rich as plain :class:`rich.text.Text`,
never parsed as markup.
"""

from __future__ import annotations

import re
from typing import Any

from .figures import figure

NM = "n/m"
CONTAINERS_SHOWN = 5
UNITS_SHOWN = 3


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(v: Any) -> str:
    """``str(v)`` with each control character (C0, DEL, C1) written as ``\\xNN``: a name from a
    host cannot move the cursor, retitle or recolour the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(v))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _pct(v: Any, precision: int = 1) -> str:
    x = _num(v)
    return NM if x is None else f"{x:.{precision}f}%"


def fmt_bytes(v: Any, per_s: bool = False) -> str:
    """Bytes with binary prefixes (``2.0G``; ``/s`` for a rate), ``n/m`` when not measured."""
    x = _num(v)
    if x is None:
        return NM
    units = ["B", "K", "M", "G", "T"]
    i = 0
    while abs(x) >= 1024 and i < len(units) - 1:
        x /= 1024
        i += 1
    return f"{x:.1f}{units[i]}{'/s' if per_s else ''}"


def pressure_text(p: dict[str, Any] | None) -> str:
    """``cpu 12.5% mem 3.0%/1.0% io n/m/n/m``: PSI some (waiting) / full (stalled) per resource,
    at the declared figures' precision."""
    p = p or {}

    def one(key: str) -> str:
        return _pct(p.get(key), figure(f"pressure.{key}").precision)
    return (f"cpu {one('cpu_waiting_percent')} "
            f"mem {one('memory_waiting_percent')}/{one('memory_stalled_percent')} "
            f"io {one('io_waiting_percent')}/{one('io_stalled_percent')}")


def clock_text(c: dict[str, Any] | None) -> str:
    """``synced, offset +0.4 ms`` / ``NOT synced, offset -4.2 ms`` / ``n/m``."""
    c = c or {}
    sync, off = _num(c.get("synchronised")), _num(c.get("offset_seconds"))
    if sync is None and off is None:
        return NM
    state = NM if sync is None else "synced" if sync else "NOT synced"
    return f"{state}, offset {NM if off is None else f'{off * 1000:+.1f} ms'}"


def units_text(s: dict[str, Any]) -> str:
    """``2: a.service, b.service`` (at most 3 names, then ``+N``), ``none``, or ``n/m`` for a
    host without systemd data."""
    names = [safe(u.get("name", "")) for u in s.get("failed_units") or []]
    failed = _num((s.get("units") or {}).get("failed"))
    if failed is None and not names:
        return NM
    n = int(failed) if failed is not None else len(names)
    if not n:
        return "none"
    more = len(names) - UNITS_SHOWN
    return f"{n}: " + ", ".join(names[:UNITS_SHOWN]) + (f" +{more}" if more > 0 else "")


def disks_text(disks: list[dict[str, Any]] | None) -> str:
    """The devices whose S.M.A.R.T. status is failed (``nvme0 FAILED 41°C wear 7% 3 media
    errors``), ``N passed`` when none failed, ``n/m`` when no device reports S.M.A.R.T."""
    disks = disks or []
    if not disks:
        return NM
    bad = [d for d in disks if _num(d.get("smart_status")) == 0]
    if not bad:
        ok = sum(1 for d in disks if _num(d.get("smart_status")) == 1)
        return f"{ok} passed" + (f", {len(disks) - ok} n/m" if ok < len(disks) else "")
    parts = []
    for d in bad:
        extra = []
        if (t := _num(d.get("temperature_celsius"))) is not None:
            extra.append(f"{t:.0f}°C")
        if (w := _num(d.get("percentage_used"))) is not None:
            extra.append(f"wear {w:.0f}%")
        if (m := _num(d.get("media_errors"))):
            extra.append(f"{m:.0f} media errors")
        parts.append(" ".join([f"{safe(d.get('device'))} FAILED", *extra]))
    return "; ".join(parts)


def health_cells(s: dict[str, Any]) -> list[str]:
    """The Host health table's cells for one host ``summary``: pressure, clock, failed units,
    disks."""
    return [pressure_text(s.get("pressure")), clock_text(s.get("clock")), units_text(s),
            disks_text(s.get("disks"))]


def _bad(cell: str, col: int) -> bool:
    return (col == 1 and cell.startswith("NOT")) or (col == 2 and cell[:1].isdigit()) or (
        col == 3 and "FAILED" in cell)


def health_table(hosts: dict[str, Any]) -> Any:
    """The Host health table (rich), one row per host; bad cells (clock not synchronised,
    failed units, failed disks) in red."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title="Host health (PSI some/full; failed units; S.M.A.R.T.)")
    for col in ("host", "pressure", "clock", "failed units", "disks"):
        t.add_column(col, overflow="fold")  # a long unit name wraps, never cut to "…"
    for name, h in hosts.items():
        cells = health_cells(h.get("summary") or {})
        t.add_row(Text(safe(name)), *(Text(c, style="red" if _bad(c, i) else "") for i, c in enumerate(cells)))
    return t


def _cpu_key(c: dict[str, Any]) -> float:
    v = _num(c.get("cpu_percent"))
    return -1.0 if v is None else v


def container_rows(containers: list[dict[str, Any]] | None) -> tuple[list[list[str]], int]:
    """``(rows, left_out)``: the 5 busiest containers by CPU (name, CPU, CPU limit, working
    set, memory limit, OOM kills; a limit that is not set is ``no limit``, a memory limit
    where no memory was measured ``n/m``) and how many more."""
    ordered = sorted(containers or [], key=_cpu_key, reverse=True)
    rows = []
    for c in ordered[:CONTAINERS_SHOWN]:
        lim = _num(c.get("cpu_limit_cores"))
        oom = _num(c.get("oom_events"))
        rows.append([safe(c.get("name") or c.get("id") or ""), _pct(c.get("cpu_percent")),
                     "no limit" if lim is None else f"{lim:g} cores",
                     fmt_bytes(c.get("memory_working_set_bytes")),
                     NM if c.get("memory_working_set_bytes") is None  # no memory controller
                     else "no limit" if c.get("memory_limit_bytes") is None
                     else fmt_bytes(c.get("memory_limit_bytes")),
                     NM if oom is None else f"{oom:.0f}"])
    return rows, max(0, len(ordered) - CONTAINERS_SHOWN)


def containers_table(host: str, containers: list[dict[str, Any]]) -> Any:
    """One host's Containers table (rich): the busiest 5 by CPU; None when it has none."""
    from rich.table import Table
    from rich.text import Text

    rows, more = container_rows(containers)
    if not rows:
        return None
    t = Table(title=Text(f"Containers on {safe(host)} (top {len(rows)} of {len(rows) + more} by CPU)"))
    for col in ("container", "CPU", "CPU limit", "memory", "mem limit", "OOM kills"):
        t.add_column(col, justify="left" if col == "container" else "right")
    for r in rows:
        t.add_row(*(Text(c, style="red" if i == 5 and c not in ("0", NM) else "")
                    for i, c in enumerate(r)))
    return t


def print_host_health(con: Any, hosts: dict[str, Any]) -> None:
    """Print the Host health table and each host's Containers table; nothing for no hosts."""
    if not hosts:
        return
    con.print(health_table(hosts))
    for name, h in hosts.items():
        t = containers_table(name, (h.get("summary") or {}).get("containers") or [])
        if t is not None:
            con.print(t)
