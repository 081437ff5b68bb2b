"""Human output of a benchmark: a live progress bar while it runs, then result tables.

Formatting only; every figure shown comes from the result document (:mod:`.suite`). A figure
that was not measured prints as "n/m".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _n(v, fmt: str = "{:.1f}", scale: float = 1.0, suffix: str = "") -> str:
    return "n/m" if v is None else fmt.format(v * scale) + suffix


def ms(v) -> str:
    return _n(v, "{:.2f}", 1000, " ms")


def rate(v, unit: str = "MB/s", scale: float = 1e-6) -> str:
    return _n(v, "{:,.1f}", scale, f" {unit}")


@contextlib.contextmanager
def live_progress(console: Console, enabled: bool) -> Iterator:
    """Yields a ``progress(phase, fraction)`` callback drawing one bar per phase."""
    if not enabled:
        yield lambda _p, _f: None
        return
    bar = Progress(TextColumn("{task.description:<44}"), BarColumn(), TimeElapsedColumn(),
                   console=console, transient=True)
    tasks: dict[str, int] = {}

    def cb(phase: str, frac: float) -> None:
        if phase not in tasks:
            for t in tasks.values():
                bar.update(t, completed=100)
            tasks[phase] = bar.add_task(phase, total=100)
        bar.update(tasks[phase], completed=max(0.0, min(1.0, frac)) * 100)
    with bar:
        yield cb


def render(result: dict, console: Console, comparison: dict | None = None) -> None:
    """Print the score table, one table per category and the comparison when given."""
    t = Table(title=f"Benchmark '{result['type']}' on {result['host']} (engine {result['engine']})")
    for col in ("category", "weight", "score", "grade", "note"):
        t.add_column(col)
    w = result["scoring"]["weights"]
    for c, r in result["categories"].items():
        t.add_row(c, f"{w[c]:.2f}", _n(r["score"]), r["grade"] or "n/m", r.get("note") or "")
    o = result["overall"]
    t.add_row("[bold]overall[/]", "", f"[bold]{_n(o['score'])}[/]", f"[bold]{o['grade'] or 'n/m'}[/]",
              "renormalised over: " + (", ".join(o["categories_run"]) or "none"))
    console.print(t)
    f = Table(title="Scored figures (score = clamp(60 + 20*log2(r), 0, 100); r = how many times "
              "better than the baseline)")
    for col in ("figure", "measured", "baseline", "score"):
        f.add_column(col)
    for r in result["categories"].values():
        for fig in r.get("figures", []):
            if fig["unit"] == "seconds":
                a, b = ms(fig["measured"]), ms(fig["baseline"])
            elif fig["baseline"] >= 1e9:
                a, b = rate(fig["measured"], "GB/s", 1e-9), rate(fig["baseline"], "GB/s", 1e-9)
            else:
                a, b = rate(fig["measured"]), rate(fig["baseline"])
            f.add_row(fig["figure"], a, b, _n(fig["score"]))
    console.print(f)
    cats = result["categories"]
    if cats.get("api", {}).get("results"):
        _api(cats["api"]["results"], console)
    if cats.get("database", {}).get("results"):
        _db(cats["database"]["results"], console)
    if cats.get("network", {}).get("results"):
        _net(cats["network"]["results"], console)
    if cats.get("system", {}).get("results"):
        _sys(cats["system"]["results"][0], console)
    if comparison:
        _cmp(comparison, console)


def _cpu(m: dict) -> str:
    cpu = m.get("client_cpu_ratio")
    return "n/m" if cpu is None else f"{cpu * 100:.0f}%" + (
        " [red]saturated: client-bound[/]" if m.get("client_cpu_saturated") else "")


def _api(results: list[dict], console: Console) -> None:
    t = Table(title="API (latency from request start; open loop: from the intended send time)")
    for col in ("endpoint", "mode", "requests", "req/s", "p50", "p90", "p95", "p99", "max",
                "errors", "codes", "client CPU"):
        t.add_column(col)
    for r in results:
        for mode in ("closed", "open"):
            m = r.get(mode)
            if not m:
                continue
            lat = m["latency_seconds"]
            label = (f"closed x{m['concurrency']}" if mode == "closed"
                     else f"open {m['rate_per_second']:.0f}/s")
            t.add_row(r["name"], label, str(m["requests"]), _n(m["throughput_per_second"]),
                      ms(lat["p50"]), ms(lat["p90"]), ms(lat["p95"]), ms(lat["p99"]), ms(lat["max"]),
                      _n(m["error_rate"], "{:.2%}", 1), ", ".join(
                          f"{k}:{v}" for k, v in {**m.get("status_codes", {}),
                                                 **m.get("errors", {})}.items()), _cpu(m))
    console.print(t)


def _db(results: list[dict], console: Console) -> None:
    t = Table(title="Redis (one connection, one command at a time; pipelined SET per command)")
    for col in ("service", "db", "command", "ops/s", "p50", "p95", "p99", "max", "client CPU"):
        t.add_column(col)
    for r in results:
        for db, ops in r["dbs"].items():
            if "error" in ops:
                t.add_row(r["name"], db, "[red]error[/]", ops["error"], "", "", "", "", "")
                continue
            for op, fig in ops.items():
                lat = fig["latency_seconds"]
                t.add_row(r["name"], db, op, _n(fig["ops_per_second"], "{:,.0f}"), ms(lat["p50"]),
                          ms(lat["p95"]), ms(lat["p99"]), ms(lat["max"]), _cpu(fig))
        c = r.get("cleanup", {})
        console.print(f"redis {r['name']}: keys under {r.get('prefix', 'the run prefix')} removed: "
                      f"{c.get('removed')}, left: {c.get('left')}"
                      + (f", errors: {c['errors']}" if c.get("errors") else ""))
    console.print(t)


def _net(results: list[dict], console: Console) -> None:
    t = Table(title="Network (TCP connect RTT to each agent)")
    for col in ("host", "address", "probes", "RTT p50", "p95", "max", "jitter", "loss", "throughput"):
        t.add_column(col)
    for r in results:
        rtt = r["rtt_seconds"]
        t.add_row(r["name"], r["address"], str(r["probes"]), ms(rtt["p50"]), ms(rtt["p95"]),
                  ms(rtt["max"]), ms(r["jitter_seconds"]), _n(r["loss_ratio"], "{:.1%}", 1),
                  _n(r.get("throughput_megabytes_per_second"), "{:,.1f}", 1, " MB/s"))
    console.print(t)


def _sys(r: dict, console: Console) -> None:
    c, m, d, g = r["cpu"], r["memory"], r["disk"], r["gpu"]
    t = Table(title="System")
    t.add_column("figure")
    t.add_column("value")
    t.add_column("how")
    t.add_row("CPU single-core", _n(c["single_core_units_per_second"], "{:,.0f}", 1, " units/s"), c["unit"])
    t.add_row(f"CPU multi-core ({c['cpus']} processes)",
              _n(c["multi_core_units_per_second"], "{:,.0f}", 1, " units/s"),
              f"scaling {_n(c['multi_core_scaling_ratio'], '{:.2f}')}")
    t.add_row("memory bandwidth", rate(m["bytes_per_second"], "GB/s", 1e-9), f"{m['method']}, {m['counting']}")
    t.add_row("disk sequential write", rate(d["write_bytes_per_second"]), f"{d['method']}, {d['scratch_dir']}")
    t.add_row("disk sequential read", rate(d["read_bytes_per_second"]), d["method"])
    t.add_row("disk random 4 KiB read", _n(d["random_read_4k_iops"], "{:,.0f}", 1, " IOPS"), "queue depth 1")
    if "disk_builtin" in r:
        b = r["disk_builtin"]
        t.add_row("built-in write / read", f"{rate(b['write_bytes_per_second'])} / "
                  f"{rate(b['read_bytes_per_second'])}", "for comparison with fio")
    t.add_row("GPU", ", ".join(x["name"] for x in g["devices"]) or "none", g["note"])
    console.print(t)


def _cmp(comparison: dict, console: Console) -> None:
    for label in ("previous", "baseline"):
        item = comparison.get(label)
        if not item:
            console.print(f"no {label} run to compare with")
            continue
        t = Table(title=f"Compared with the {label} run ({item['path']})")
        for col in ("metric", "then", "now", "change", "verdict"):
            t.add_column(col)
        for row in item["rows"]:
            v = row["verdict"]
            style = {"regression": "red", "improvement": "green"}.get(v)
            t.add_row(row["metric"], f"{row['old']:.4g}", f"{row['new']:.4g}",
                      _n(row["change_ratio"], "{:+.1%}", 1), f"[{style}]{v}[/]" if style else v)
        console.print(t)
