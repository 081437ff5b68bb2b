"""PDF form of a report with matplotlib's PdfPages (pure Python, no system libraries): the same
tables as the HTML, paginated A4 portrait, followed by each host's charts.

Values are drawn as text by matplotlib (``usetex`` off, math text disabled per cell), so no label
from the data is interpreted.
"""

from __future__ import annotations

from .render import fmt_bytes, fmt_change, fmt_duration, fmt_num, fmt_pct, fmt_time, fmt_value, host_figure

ROWS_PER_PAGE = 32
A4 = (8.27, 11.69)


def _tables(doc: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    av = doc["availability"]
    for sec in ("services", "hosts"):
        rows = []
        for name, a in av[sec].items():
            if not a["samples"]:
                rows.append([name, "no data", "", "", "", ""])
                continue
            rows.append([name, f'{fmt_pct(a["uptime_percent"], 3)} of {fmt_pct(a["coverage_percent"], 2)}',
                         str(a["outage_count"]),
                         fmt_duration(a["longest_outage_seconds"]), fmt_duration(a["downtime_seconds"]),
                         fmt_duration(a["budget_left_seconds"])])
        out.append((f"1. Availability: {sec} (target {av['target_percent']} %)",
                    [sec[:-1], "uptime of monitored", "outages", "longest", "downtime", "budget left"], rows))
    rows = []
    for host, res in doc["trends"]["hosts"].items():
        for key, s in res.items():
            u = s["unit"]
            rows.append([host, key, fmt_value(s["p50"], u), fmt_value(s["p95"], u),
                         fmt_value(s["max"], u), fmt_change(s["change_p95"], u)])
    out.append(("2. Trends (" + doc["trends"]["method"] + ")",
                ["host", "resource", "p50", "p95", "max", "change p95"], rows))
    cap = doc["capacity"]
    rows = [[f["host"], f["mountpoint"] or "", fmt_pct(f["now_percent"]),
             fmt_num(f["slope_percent_per_day"], 2, " pt/d"), fmt_duration(f["time_to_full_seconds"]),
             fmt_time(f["threshold_at"]), f["status"]] for f in cap["filesystems"]]
    rows += [[m["host"], "(memory)", fmt_pct(m["now_percent"]), fmt_num(m["slope_percent_per_day"], 2, " pt/d"),
              fmt_duration(m["time_to_full_seconds"]), fmt_time(m["threshold_at"]), m["status"]]
             for m in cap["memory"]]
    out.append(("3. Capacity (Theil–Sen forecast)",
                ["host", "what", "used now", "growth", "full in", "threshold on", "status"], rows))
    rows = [[b["resource"], b["host"] or "", b["target"] or "", fmt_duration(b["seconds_above"]),
             f'{fmt_pct(b["share_percent"], 2)} of {fmt_pct(b["coverage_percent"], 1)}']
            for b in doc["bottlenecks"]["items"]]
    out.append(("4. Bottlenecks (time above threshold)",
                ["resource", "host", "what", "time above", "share of monitored"], rows))
    pr = doc["processes"]
    rows = [[p["host"], p["name"], fmt_num(p["core_seconds"], 0, " core-s"), fmt_pct(p["mean_percent"])]
            for p in pr["by_cpu"] or []]
    rows += [[p["host"], p["name"], fmt_bytes(p["mean_bytes"]), "(memory)"] for p in pr["by_memory"] or []]
    out.append(("4. Top processes", ["host", "process", "CPU time / memory", "mean CPU"], rows))
    al = doc["alerts"]
    if al["recorded"]:
        rows = [[s, str(n)] for s, n in al["by_severity"].items()]
        rows += [[f"rule {x['rule']}", str(x["incidents"])] for x in al["noisiest"]]
        rows.append(["mean time to resolve", fmt_duration(al["mean_time_to_resolve_seconds"])])
    else:
        rows = [["alert history", "no data"]]
    op = doc["optimizations"]
    rows.append(["optimizations applied", str(op["count"]) if op["recorded"] else "none recorded"])
    rows += [[f"  {a['action']} {a['target']}", a["verdict"] or "no data"] for a in op["actions"]]
    out.append(("5. Alerts and actions", ["what", "count"], rows))
    rows = [[k, fmt_time(b["latest_at"]), fmt_num(b["score"], 1), b["grade"] or "no data",
             fmt_num(b["score_change"], 1), str(len(b["regressions"]))]
            for k, b in doc["benchmarks"]["types"].items()] or [["no run in the period", "", "", "", "", ""]]
    out.append(("6. Benchmarks", ["type", "latest", "score", "grade", "change", "regressions"], rows))
    return out


def _page(pdf, title: str, header: list[str], rows: list[list[str]], heading: str | None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4)
    y = 0.96
    if heading:
        fig.text(0.06, y, heading, fontsize=12, weight="bold", usetex=False, parse_math=False)
        y -= 0.03
    fig.text(0.06, y, title, fontsize=10, weight="bold", parse_math=False, wrap=True)
    ax = fig.add_axes((0.05, 0.05, 0.9, y - 0.08))
    ax.axis("off")
    cells = [[str(c)[:40] for c in r] for r in rows] or [["no data"] + [""] * (len(header) - 1)]
    t = ax.table(cellText=cells, colLabels=header, loc="upper center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(7)
    for cell in t.get_celld().values():
        cell.get_text().set_parse_math(False)
    pdf.savefig(fig)


def write_pdf(report, path: str) -> int:
    """Write ``report`` to ``path``; returns the number of pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    doc = report.doc
    rep = doc["report"]
    heading = (f"{rep['title']}: {rep['period']['start_iso']} to {rep['period']['end_iso']} "
               f"(autobot-monitor {rep['version']})")
    if doc.get("warning"):  # low coverage: the first line says so
        heading = f"{doc['warning']}\n{heading}"
    pages = 0
    with PdfPages(path, metadata={"Title": rep["title"], "Creator": "autobot-monitor"}) as pdf:
        for title, header, rows in _tables(doc):
            for i in range(0, max(len(rows), 1), ROWS_PER_PAGE):
                _page(pdf, title, header, rows[i:i + ROWS_PER_PAGE], heading if pages == 0 else None)
                pages += 1
        for host in sorted(report.series):
            fig = host_figure(host, report.series[host])
            if fig is not None:
                pdf.savefig(fig)
                pages += 1
    return pages
