"""The ``status`` command's view: a running hub's figures as tables (rich) or JSON. Figures
the hub did not measure print as ``n/m``."""

from __future__ import annotations

import json
import time
from typing import Any

from .cmdline import fail
from .figures import figure
from .status_health import fmt_bytes as _fmt_bytes
from .status_health import print_host_health


def _fmt(v: float | None, fmt: str = "{:.1f}", suffix: str = "") -> str:
    """``v`` formatted, "n/m" when not measured; a value that rounds to zero never shows "-0"."""
    if v is None:
        return "n/m"
    text = fmt.format(v)
    if text.startswith("-") and text.lstrip("-0.") == "":
        text = text[1:]
    return text + suffix


def _penalty(p: float) -> str:
    """A health term's penalty (points taken off the score) as ``-12.5``, or ``0`` (never ``-0.0``)."""
    return "0" if not p else f"-{p}"


HOST_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("host", ()), ("state", ()), ("CPU", ("cpu_percent",)), ("memory", ("memory.used_percent",)),
    ("disk max", ("disk_used_percent_max",)), ("load1", ("load1",)),
    ("net rx", ("network.receive_bytes_per_second",)),
    ("net tx", ("network.transmit_bytes_per_second",)),
    ("disk read/write", ("disk_io.read_bytes_per_second", "disk_io.written_bytes_per_second")))
"""The Hosts table's columns before GPU and availability: heading and the figures shown (keys
of :mod:`.figures`, joined by `` / ``); host and state carry none."""


def figure_text(key: str, summary: dict[str, Any]) -> str:
    """The figure ``key`` of a host ``summary`` as text: its declared precision, ``%`` for
    percent, binary prefixes for bytes (``/s`` for rates), ``n/m`` when not measured."""
    f = figure(key)
    v: Any = summary
    for part in key.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    if f.unit in ("bytes", "bytes_per_second"):
        return _fmt_bytes(v, f.unit == "bytes_per_second")
    return _fmt(v, f"{{:.{f.precision}f}}", "%" if f.unit == "percent" else "")


def host_cells(s: dict[str, Any]) -> list[str]:
    """The Hosts table's figure cells and GPU cell for one host ``summary``."""
    cells = [" / ".join(figure_text(k, s) for k in keys) for _, keys in HOST_COLUMNS if keys]
    util = figure("gpus.utilization_percent")
    gpus = s.get("gpus") or []
    cells.append("none" if s.get("gpu_available") == 0 else ", ".join(
        _fmt(g.get("utilization_percent"), f"{{:.{util.precision}f}}", "%") for g in gpus) or "n/m")
    return cells


_BAND_COLOUR = {"green": "green", "yellow": "yellow", "red": "red"}


def alert_state(a: dict) -> str:
    """``pending`` or ``firing``, plus ``acknowledged (by)``, ``silenced`` and ``flapping``
    when they apply, for one alert as ``GET /api/alerts`` lists it."""
    parts = [a["state"]]
    if a.get("acknowledged_by"):
        parts.append(f"acknowledged ({a['acknowledged_by']})")
    if a.get("silenced_by"):
        parts.append("silenced")
    if a.get("flapping"):
        parts.append("flapping")
    return ", ".join(parts)


def _by_state(counts: dict | None) -> str:
    """`` (1 pending, 2 firing, 1 acknowledged)``: the non-zero counts, or nothing."""
    parts = [f"{n} {k}" for k, n in (counts or {}).items() if n]
    return f" ({', '.join(parts)})" if parts else ""


def _fetch(args, url: str) -> tuple[dict, dict, dict]:
    """``(status, current, alerts)``: the JSON of ``GET /api/system/status``,
    ``/api/metrics/current`` and ``/api/alerts`` from the hub at ``url``, with ``args.token``,
    ``args.cacert`` and ``args.timeout`` (seconds). Raises httpx.HTTPError."""
    import ssl

    import httpx

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    verify = ssl.create_default_context(cafile=args.cacert) if args.cacert else True
    with httpx.Client(timeout=args.timeout, headers=headers, verify=verify) as c:
        status = c.get(f"{url}/api/system/status").raise_for_status().json()
        current = c.get(f"{url}/api/metrics/current").raise_for_status().json()
        alerts = c.get(f"{url}/api/alerts").raise_for_status().json()
    return status, current, alerts


def show_status(args) -> int:
    """``autobot-monitor status``: fetch the hub's status, current figures and alerts and print
    them as tables (or JSON with ``--json``). Returns the exit code."""
    import httpx

    url = args.url.rstrip("/")
    try:
        status, current, alerts = _fetch(args, url)
    except httpx.HTTPError as e:
        from .cmdline import describe_http_error

        return fail(describe_http_error(e, url), 1)
    if args.json:
        print(json.dumps({"status": status, "current": current, "alerts": alerts}, indent=2))
        return 0
    from rich.console import Console

    con = Console()
    if not con.is_terminal:
        con.width = max(con.width, 132)
    if not status.get("timestamp"):
        con.print(f"hub at {url} is up but has not finished its first cycle yet")
        return 0
    _print_health(con, url, status)
    con.print(_hosts_table(current.get("hosts", {})))
    print_host_health(con, current.get("hosts", {}))
    _print_mesh(con, current.get("hosts", {}))
    if current.get("services"):
        con.print(_services_table(current["services"]))
    if alerts.get("alerts"):
        con.print(_alerts_table(alerts["alerts"]))
    return 0


def _print_health(con, url: str, status: dict) -> None:
    """The headline (health score and band, cycle age, active alerts) and one line per health
    term with its penalty."""
    age = time.time() - status["timestamp"]
    hl = status.get("health") or {"band": "unknown", "terms": []}
    colour = _BAND_COLOUR.get(hl["band"], "dim")
    con.print(f"[bold]autobot-monitor[/] at {url}: health score "
              f"[bold {colour}]{_fmt(status.get('health_score'))}[/] ({hl['band']}), "
              f"last cycle {age:.0f}s ago, {status['alerts']['active']} active alert(s)"
              + _by_state(status["alerts"].get("by_state")))
    for term in hl["terms"]:
        con.print(f"  {term['name']}: {_penalty(term['penalty'])} ({term['detail']})", markup=False,
                  highlight=False)


def _hosts_table(hosts: dict):
    """The Hosts table: :data:`HOST_COLUMNS`, GPU, 24 h availability; one row per host."""
    from rich.table import Table

    t = Table(title="Hosts")
    for col, _keys in HOST_COLUMNS:
        t.add_column(col)
    t.add_column("GPU")
    t.add_column("24h avail (monitored)")
    for name, h in hosts.items():
        t.add_row(name, "[green]up[/]" if h["up"] else f"[red]down[/] {h.get('error') or ''}",
                  *host_cells(h.get("summary") or {}), _avail(h))
    return t


def _service_detail(sv: dict) -> str:
    """A service row's detail: Redis memory, clients and ops/s when up, else the error or the
    HTTP status."""
    d = sv.get("details") or {}
    detail = sv.get("error") or ""
    if sv["type"] == "redis" and sv["up"]:
        return (f"mem {_fmt_bytes(d.get('used_memory'))}, "
                f"clients {_fmt(d.get('connected_clients'), '{:.0f}')}, "
                f"ops/s {_fmt(d.get('instantaneous_ops_per_sec'), '{:.0f}')}")
    if sv.get("status_code"):
        return detail or f"HTTP {sv['status_code']}"
    return detail


def _services_table(services: dict):
    """The Services table: one row per service."""
    from rich.table import Table

    st = Table(title="Services")
    for col in ("service", "type", "state", "response", "24h avail (monitored)", "detail"):
        st.add_column(col)
    for name, sv in services.items():
        rt = sv.get("response_time_seconds")
        st.add_row(name, sv["type"], "[green]up[/]" if sv["up"] else "[red]down[/]",
                   _fmt(rt * 1000 if rt is not None else None, "{:.1f}", " ms"),
                   _avail(sv), _service_detail(sv))
    return st


def _alerts_table(alerts: list[dict]):
    """The Active alerts table, one row per alert as ``GET /api/alerts`` lists it."""
    from rich.markup import escape
    from rich.table import Table

    at = Table(title="Active alerts")
    for col in ("severity", "state", "alert", "summary", "since"):
        at.add_column(col)
    for a in alerts:
        at.add_row(a["severity"], escape(alert_state(a)), a["name"], escape(a["summary"]),
                   time.strftime("%H:%M:%S", time.localtime(a["since"])))
    return at


def _print_mesh(con, hosts: dict) -> None:
    """Latency mesh table: one row per (host, peer) from each host's ``mesh``."""
    from rich.table import Table

    rows = [(name, peer, methods) for name, h in hosts.items()
            for peer, methods in sorted((h.get("mesh") or {}).items())]
    if not rows:
        return
    mt = Table(title="Latency mesh (TCP connect; ICMP p50 where allowed)")
    for col in ("from", "to", "RTT p50", "RTT p99", "jitter", "loss", "ICMP p50"):
        mt.add_column(col)
    for name, peer, methods in rows:
        tcp, icmp = methods.get("tcp") or {}, methods.get("icmp") or {}

        def ms(v):
            return _fmt(v * 1000 if v is not None else None, "{:.2f}", " ms")
        loss = tcp.get("loss_ratio")
        mt.add_row(name, peer, ms(tcp.get("rtt_p50_seconds")), ms(tcp.get("rtt_p99_seconds")),
                   ms(tcp.get("jitter_seconds")),
                   _fmt(loss * 100 if loss is not None else None, "{:.1f}", "%"),
                   ms(icmp.get("rtt_p50_seconds")))
    con.print(mt)


def _avail(d: dict) -> str:
    """``99.50% (monitored 12.0%)``: availability over the monitored part of 24 h and how much of
    the 24 h was monitored (``coverage_24h_percent``); ``n/m`` when nothing was monitored."""
    a, cov = d.get("availability_24h_percent"), d.get("coverage_24h_percent")
    if a is None:
        return "n/m"
    return f"{a:.2f}% (monitored {cov:.1f}%)" if cov is not None else f"{a:.2f}%"
