"""Report output: HTML (jinja2, autoescaped), charts (matplotlib, Agg, PNG as ``data:`` URIs so
the page views offline), JSON, and PDF (matplotlib's PdfPages: tables and charts, no system
libraries needed).

Data never becomes markup: every value goes through the template engine's escaping, and the
charts are images. The HTML loads nothing (no script, no external resource).
"""

from __future__ import annotations

import base64
import io
import json
import math
from datetime import UTC, datetime

CHART_POINTS = 600
_PCT = (("cpu_percent", "CPU"), ("memory_percent", "memory"), ("disk_used_percent", "disk (fullest)"),
        ("gpu_utilization_percent", "GPU"))
_NET = (("network_receive_bytes_per_second", "rx"), ("network_transmit_bytes_per_second", "tx"))


# -- value formatting (template filters; also used by the PDF) -------------------------------------
def fmt_num(v, digits: int = 1, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "no data"
    return f"{v:,.{digits}f}{unit}"


def fmt_pct(v, digits: int = 1) -> str:
    return fmt_num(v, digits, " %")


def fmt_bytes(v, per_second: bool = False) -> str:
    if v is None:
        return "no data"
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    x, i = float(abs(v)), 0
    while x >= 1024 and i < len(units) - 1:
        x, i = x / 1024, i + 1
    return f"{'-' if v < 0 else ''}{x:.1f} {units[i]}{'/s' if per_second else ''}"


def fmt_duration(v) -> str:
    if v is None:
        return "no data"
    s = float(v)
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 60:
        return f"{sign}{s:.0f} s"
    d, rem = divmod(int(round(s)), 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    parts = [f"{d}d" if d else "", f"{h}h" if h else "", f"{m}m" if m else "",
             f"{sec}s" if sec and not d else ""]
    return sign + " ".join(p for p in parts if p)


def fmt_time(v) -> str:
    if v is None:
        return "no data"
    return datetime.fromtimestamp(v, UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_value(v, unit: str) -> str:
    if unit == "bytes_per_second":
        return fmt_bytes(v, per_second=True)
    if unit == "percent":
        return fmt_pct(v)
    if unit == "seconds":
        return fmt_duration(v)
    return fmt_num(v, 3)


def fmt_change(v, unit: str) -> str:
    if v is None:
        return "no data"
    sign = "+" if v > 0 else ""
    if unit == "bytes_per_second":
        return sign + fmt_bytes(v, per_second=True)
    if unit == "percent":
        return f"{sign}{v:.1f} pt"
    return f"{sign}{v:.3g}"


# -- charts ------------------------------------------------------------------------------------------
def _thin(pts: list[tuple[float, float]]) -> tuple[list, list]:
    """At most :data:`CHART_POINTS` points, as (datetimes, values), with a NaN inserted inside
    every hole (a gap over ``STALE_FACTOR x`` the median spacing): matplotlib breaks the line
    there instead of drawing a slope across time nobody measured."""
    from ..store.codec import STALE_FACTOR

    if len(pts) > CHART_POINTS:
        stride = len(pts) / CHART_POINTS
        pts = [pts[int(i * stride)] for i in range(CHART_POINTS)]
    gaps = sorted(b[0] - a[0] for a, b in zip(pts, pts[1:], strict=False))
    limit = STALE_FACTOR * gaps[len(gaps) // 2] if gaps else math.inf
    out: list[tuple[float, float]] = []
    for p in pts:
        if out and p[0] - out[-1][0] > limit:
            out.append(((out[-1][0] + p[0]) / 2, math.nan))
        out.append(p)
    return ([datetime.fromtimestamp(t, UTC) for t, _ in out], [v for _, v in out])


def host_figure(host: str, series: dict):
    """A matplotlib Figure with two panels (percent figures, network) for one host, or None when
    the host has no data at all."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not any(series.get(k) for k, _ in _PCT + _NET):
        return None
    fig = Figure(figsize=(8, 2.6), dpi=90)
    FigureCanvasAgg(fig)  # Agg, explicitly: no pyplot, no GUI backend, no global state
    a, b = fig.subplots(1, 2)
    for key, label in _PCT:
        if series.get(key):
            a.plot(*_thin(series[key]), label=label, linewidth=0.9)
    a.set_ylim(0, 100)
    a.set_ylabel("%")
    a.set_title(f"{host}: utilisation", fontsize=9, parse_math=False)
    for key, label in _NET:
        if series.get(key):
            x, y = _thin(series[key])
            b.plot(x, [v / 1e6 for v in y], label=label, linewidth=0.9)
    b.set_ylabel("MB/s")
    b.set_title(f"{host}: network", fontsize=9, parse_math=False)
    for ax in (a, b):
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.tick_params(labelsize=7)
        for lab in ax.get_xticklabels():
            lab.set_rotation(20)
    fig.tight_layout()
    return fig


def charts(series: dict) -> dict[str, str]:
    """``{host: "data:image/png;base64,..."}`` for every host with data."""
    out = {}
    for host in sorted(series):
        fig = host_figure(host, series[host])
        if fig is None:
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        out[host] = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return out


# -- HTML / JSON -------------------------------------------------------------------------------------
def _env():
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("autobot_monitor.report", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_num, pct=fmt_pct, bytes=fmt_bytes, dur=fmt_duration, time=fmt_time,
                       value=fmt_value, change=fmt_change)
    return env


def render_html(report) -> str:
    """The report as one self-contained HTML page (charts embedded as data: URIs)."""
    return _env().get_template("report.html.j2").render(r=report.doc, charts=charts(report.series))


def render_json(report) -> str:
    return json.dumps(report.doc, indent=1, allow_nan=False, sort_keys=False) + "\n"
