// Charts: history from /api/metrics/history, extended live from each WebSocket update, drawn
// with the vendored uPlot (global ``uPlot``), exported as CSV/JSON from the data already loaded.
import { el, fmtBytes, fmtNumber, fmtPercent, fmtRate, fmtSeconds, fmtTime, getJSON, download, figuresDoc } from "./util.js";

const PALETTE = ["#4cc9f0", "#f9c74f", "#90be6d", "#f94144", "#c77dff", "#f8961e", "#43aa8b",
  "#ff70a6", "#9ef01a", "#577590"];
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const TARGET_POINTS = 600;
const STALE_FACTOR = 1.5; // as the store: a gap over 1.5 x the step between updates is a hole

const hostKey = (l) => l.host || l.instance || "?";

/** Chart definitions. Each query names one of the hub's declared figures (``GET /api/figures``):
 * its metrics and label filters make the history requests (series summed per key, e.g. all
 * disks of a host), its unit picks the formatting, and its key in the host summaries (or the
 * service entries) gives the live values of each metrics_update. ``suffix`` ends the series key. */
export const CHARTS = [
  { id: "cpu", title: "CPU busy", queries: [{ figure: "cpu_percent" }] },
  { id: "memory", title: "Memory used", queries: [{ figure: "memory.used_percent" }] },
  { id: "disk", title: "Disk I/O", queries: [
    { figure: "disk_io.read_bytes_per_second", suffix: " read" },
    { figure: "disk_io.written_bytes_per_second", suffix: " write" }] },
  { id: "network", title: "Network", queries: [
    { figure: "network.receive_bytes_per_second", suffix: " receive" },
    { figure: "network.transmit_bytes_per_second", suffix: " transmit" }] },
  { id: "gpu", title: "GPU utilisation", queries: [{ figure: "gpus.utilization_percent" }] },
  { id: "services", title: "Service response time", queries: [{ figure: "response_time_seconds" }] },
];

const FORMATS = { percent: fmtPercent, bytes_per_second: fmtRate, seconds: fmtSeconds, bytes: fmtBytes };
let figuresP = null;

/** The hub's declared figures by key (fetched once; a failure is retried on the next load). */
export function figureTable() {
  figuresP ||= figuresDoc().then((doc) => new Map(doc.figures.map((f) => [f.key, f])),
    (e) => { figuresP = null; throw e; });
  return figuresP;
}

const field = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);

/** A chart query resolved against figure ``f``: history requests, series key, live pairs. */
function resolveQuery(q, f) {
  if (!f) throw new Error(`the hub declares no figure ${q.figure}`);
  const suffix = q.suffix || "";
  const item = f.by ? (name, v) => `${name} ${f.by} ${v}` : (name) => name;
  const leaf = f.group ? f.key.slice(f.group.length + 1) : f.key;
  return {
    requests: f.metrics.map((metric) => ({ metric, match: f.match })),
    key: f.scope === "service" ? (l) => l.service || "?" : (l) => `${item(hostKey(l), l[f.by])}${suffix}`,
    live: f.scope === "service"
      ? (d, h) => Object.values(d.services || {}).filter((s) => !h || s.host === h).map((s) => [s.name, field(s, leaf)])
      : f.group
        ? (d, h) => hostsOf(d, h).flatMap((x) => (x.summary[f.group] || []).map((g) => [`${item(x.name, g[f.by])}${suffix}`, g[leaf]]))
        : (d, h) => hostsOf(d, h).map((x) => [`${x.name}${suffix}`, field(x.summary, leaf)]),
  };
}

/** ``def`` with its queries resolved and its unit, formatting and scale from its first figure. */
export function resolveChart(def, table) {
  const first = table.get(def.queries[0].figure);
  const queries = def.queries.map((q) => resolveQuery(q, table.get(q.figure)));
  return { unit: first.unit.replaceAll("_", " "), fmt: FORMATS[first.unit] || ((v) => fmtNumber(v)),
    percent: first.unit === "percent", queries, live: (d, h) => queries.flatMap((q) => q.live(d, h)) };
}

function hostsOf(data, host) {
  return Object.values(data.hosts || {}).filter((x) => x.up && (!host || x.name === host) && x.summary);
}

/** The smallest nice step (s) giving at most TARGET_POINTS points and no finer than a cycle. */
export function pickStep(rangeS, intervalS) {
  const want = Math.max(intervalS || 1, rangeS / TARGET_POINTS);
  return NICE_STEPS.find((s) => s >= want) || Math.ceil(want / 86400) * 86400;
}

function csvCell(s) {
  let t = String(s);
  if (/^[=+\-@]/.test(t)) t = `'${t}`; // keep spreadsheets from running a label as a formula
  return /[",\n\r]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
}

/** History of resolved ``queries`` over ``range``: Map(series key -> Map(t -> v)), the series
 * of one key summed per step (all disks, all interfaces of a host). */
async function fetchSeries(queries, range, host) {
  const fresh = new Map();
  for (const q of queries) {
    for (const r of q.requests) {
      const p = new URLSearchParams({ metric: r.metric, start: range.start, end: range.end, step: range.step });
      for (const m of r.match) p.append("match", m);
      if (host) p.set("host", host);
      const doc = await getJSON(`/api/metrics/history?${p}`);
      for (const s of doc.series) {
        const key = q.key(s.labels);
        const m = fresh.get(key) || new Map();
        for (const [t, v] of s.points) {
          // null = a step inside a hole (not measured): kept, so the line breaks there
          if (v === null) { if (!m.has(t)) m.set(t, null); continue; }
          m.set(t, (m.get(t) ?? 0) + v);
        }
        fresh.set(key, m);
      }
    }
  }
  return fresh;
}

/** One chart panel: its data (key -> Map(t -> v)), its uPlot and its export buttons. */
export class Chart {
  constructor(def, container) {
    this.def = def;
    this.spec = null; // def resolved against the hub's figures (resolveChart) by the first load
    this.series = new Map();
    this.plot = null;
    this.zoomed = false;
    this.tail = null; // timestamp of the provisional live point (replaced by the next one)
    this.lastCommitted = -Infinity;
    this.range = null; // {start, end, step, live}
    this.status = el("p", { className: "chart-status muted", attrs: { "aria-live": "polite" } });
    this.plotBox = el("div", { className: "plot" });
    this.resetBtn = el("button", { type: "button", textContent: "Reset zoom", hidden: true,
      on: { click: () => this.resetZoom() } });
    const exp = (fmt) => el("button", { type: "button", className: `export-${fmt}`,
      textContent: fmt.toUpperCase(), title: `Download the visible range as ${fmt.toUpperCase()}`,
      attrs: { "aria-label": `Export ${def.title} as ${fmt.toUpperCase()}` },
      on: { click: () => this.export(fmt) } });
    this.panel = el("section", { className: "chart-panel", id: `chart-${def.id}`,
      dataset: { chart: def.id }, attrs: { "aria-label": def.title } },
    el("div", { className: "chart-head" }, el("h3", { textContent: def.title }),
      el("div", { className: "chart-actions" }, this.resetBtn, exp("csv"), exp("json"))),
    this.status, this.plotBox);
    container.append(this.panel);
    new ResizeObserver(() => this.resize()).observe(this.plotBox);
  }

  /** Load [start, end] at ``step`` from the history API; ``live``: extend with updates. */
  async load(range, host) {
    this.range = range;
    Object.assign(this.panel.dataset, { start: range.start, end: range.end, step: range.step });
    this.status.textContent = "loading…";
    let fresh;
    try {
      this.spec = resolveChart(this.def, await figureTable());
      fresh = await fetchSeries(this.spec.queries, range, host);
    } catch (e) {
      this.status.textContent = `history unavailable: ${e.message}`;
      this.series = new Map();
      this.redraw(true);
      return;
    }
    this.series = fresh;
    this.tail = null;
    this.lastCommitted = -Infinity;
    for (const m of fresh.values()) for (const t of m.keys()) if (t > this.lastCommitted) this.lastCommitted = t;
    this.zoomed = false;
    this.redraw(true);
  }

  /** Add one metrics_update; within a step of the last committed point it replaces the previous
   * live point, so the tail is always live and the density stays near the history's. */
  extend(data, t, host) {
    if (!this.range || !this.range.live || !this.spec) return;
    const pairs = this.spec.live(data, host).filter(([, v]) => typeof v === "number");
    if (this.tail !== null) for (const m of this.series.values()) m.delete(this.tail);
    const prev = this.tail ?? this.lastCommitted;
    const hole = Number.isFinite(prev) && t - prev > STALE_FACTOR * this.range.step;
    for (const m of this.series.values()) {
      if (hole) m.set((prev + t) / 2, null); // updates stopped (hub or WebSocket down): break
      m.set(t, null); // a key without a value in this update is not measured now
    }
    for (const [k, v] of pairs) {
      if (!this.series.has(k)) this.series.set(k, new Map());
      this.series.get(k).set(t, v);
    }
    if (t - this.lastCommitted >= this.range.step) { this.lastCommitted = t; this.tail = null; } else { this.tail = t; }
    const span = this.range.end - this.range.start;
    this.range.end = t;
    this.range.start = t - span;
    for (const m of this.series.values()) for (const x of m.keys()) if (x < this.range.start) m.delete(x);
    this.redraw(false);
  }

  /** [xs, ...values per key] aligned on the union of timestamps (uPlot's data layout). A
   * stored null (not measured) stays null, which uPlot draws as a gap (spanGaps false); a
   * timestamp a key simply has no entry for becomes undefined, which uPlot joins over. */
  table() {
    const keys = [...this.series.keys()].sort();
    const xs = [...new Set(keys.flatMap((k) => [...this.series.get(k).keys()]))].sort((a, b) => a - b);
    return { keys, data: [xs, ...keys.map((k) => { const m = this.series.get(k); return xs.map((x) => (m.has(x) ? m.get(x) : undefined)); })] };
  }

  redraw(full) {
    if (!this.range) return;
    const { keys, data } = this.table();
    const n = data[0].length;
    const r = this.range;
    this.status.textContent = n
      ? `${n} points · step ${fmtStep(r.step)} · ${fmtTime(r.start)} – ${r.live ? "now" : fmtTime(r.end)}`
      : "No samples in this range (not measured).";
    this.plotBox.hidden = n === 0;
    if (!n || this.plotBox.clientWidth === 0) { this.pending = true; return; }
    this.pending = false;
    const sig = keys.join("\u0000");
    if (!this.plot || this.sig !== sig) {
      this.sig = sig;
      this.build(keys, data);
    } else {
      this.plot.setData(data, full || !this.zoomed);
    }
    this.panel.dataset.points = String(n);
    this.panel.dataset.lastX = String(data[0][n - 1]);
  }

  build(keys, data) {
    if (this.plot) this.plot.destroy();
    const fmt = this.spec.fmt;
    const axis = { stroke: "#9aa4b2", grid: { stroke: "#263042", width: 1 }, ticks: { stroke: "#263042", width: 1 } };
    const opts = {
      width: this.plotBox.clientWidth, height: 220,
      series: [{ value: (u, v) => (v == null ? "--" : fmtTime(v)) },
        ...keys.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
          value: (u, v) => (v == null ? "--" : fmt(v)), points: { show: false } }))],
      axes: [axis, { ...axis, size: 76, values: (u, vals) => vals.map((v) => fmt(v)) }],
      scales: { x: { time: true }, y: this.spec.percent
        ? { range: (u, min, max) => [0, Math.max(100, max || 0)] }
        : { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      cursor: { drag: { x: true, y: false } },
      hooks: { setScale: [(u, key) => {
        // zoomed = the x scale shows less than the data (drag-zoom); setData(.., true) resets it
        const xs = u.data[0];
        if (key === "x" && xs.length) this.setZoomed(u.scales.x.min > xs[0] + 1e-6 || u.scales.x.max < xs[xs.length - 1] - 1e-6);
      }] },
    };
    this.plot = new uPlot(opts, data, this.plotBox);
  }

  setZoomed(z) {
    this.zoomed = z;
    this.resetBtn.hidden = !z;
  }

  resetZoom() {
    this.setZoomed(false);
    this.redraw(true);
  }

  resize() {
    if (this.pending) { this.redraw(true); return; }
    if (this.plot && this.plotBox.clientWidth > 0) this.plot.setSize({ width: this.plotBox.clientWidth, height: 220 });
  }

  /** The rows inside the visible x range (the zoom, else the loaded range). */
  visible() {
    const { keys, data } = this.table();
    let lo = this.range ? this.range.start : -Infinity;
    let hi = this.range ? this.range.end : Infinity;
    if (this.zoomed && this.plot) { lo = this.plot.scales.x.min; hi = this.plot.scales.x.max; }
    const rows = [];
    data[0].forEach((t, i) => { if (t >= lo && t <= hi) rows.push([t, ...keys.map((_, j) => data[j + 1][i])]); });
    return { keys, rows, lo, hi };
  }

  export(fmt) {
    const { keys, rows, lo, hi } = this.visible();
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const name = `autobot-${this.def.id}-${stamp}.${fmt}`;
    if (fmt === "csv") {
      const lines = [["timestamp", "time_utc", ...keys].map(csvCell).join(",")];
      for (const [t, ...vs] of rows) lines.push([t, new Date(t * 1000).toISOString(), ...vs.map((v) => v ?? "")].map(csvCell).join(","));
      download(name, "text/csv", `${lines.join("\r\n")}\r\n`);
    } else {
      const doc = { chart: this.def.id, title: this.def.title, unit: this.spec?.unit ?? null,
        range: { start: lo, end: hi, step: this.range?.step ?? null },
        series: keys.map((k, j) => ({ label: k, points: rows.filter((r) => r[j + 1] !== undefined).map((r) => [r[0], r[j + 1]]) })) };
      download(name, "application/json", JSON.stringify(doc, null, 1));
    }
  }
}

function fmtStep(s) {
  return s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : s < 86400 ? `${s / 3600} h` : `${s / 86400} d`;
}

/** All chart panels inside ``container``; keeps the range and host filter. */
export class ChartBoard {
  constructor(container) {
    this.container = container;
    this.charts = CHARTS.map((d) => new Chart(d, container));
    this.host = "";
    this.rangeS = 900;
    this.custom = null; // {start, end} in Unix s
    this.interval = 10;
    this.loaded = false;
  }

  async reload() {
    const now = Date.now() / 1000;
    let start, end, step, live;
    if (this.custom) {
      ({ start, end } = this.custom);
      step = pickStep(end - start, this.interval);
      live = false;
    } else {
      step = pickStep(this.rangeS, this.interval);
      start = Math.floor((now - this.rangeS) / step) * step; // grid aligned to the step
      end = now;
      live = true;
    }
    this.loaded = true;
    await Promise.all(this.charts.map((c) => c.load({ start, end, step, live }, this.host)));
    performance.mark("autobot-charts-loaded");
  }

  update(data, t) {
    if (data.interval_seconds) this.interval = data.interval_seconds;
    if (!this.loaded) return;
    for (const c of this.charts) c.extend(data, t, this.host);
  }

  shown() {
    for (const c of this.charts) c.resize();
  }
}

