// A host card's health rows (pressure, clock, failed systemd units, S.M.A.R.T. disks) and its
// containers table, from the host's ``summary`` (GET /api/metrics/current). Every value is put
// in the page with textContent via el(); unit and container names are data, never markup.
// A figure the hub did not measure shows as "n/m", never 0.
import { el, NM, fmtPercent, fmtBytes, fmtSeconds, fmtDuration, fmtNumber } from "./util.js";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** A signed offset in seconds: "+0.42 ms", "−1.25 s". */
function fmtOffset(v) {
  if (!isNum(v)) return NM;
  return `${v < 0 ? "−" : "+"}${fmtSeconds(Math.abs(v))}`;
}

/** "cpu 12.5 % · mem 3.0 % / 1.0 % · io n/m / n/m": PSI some (waiting) / full (stalled). */
export function pressureText(p = {}) {
  return `cpu ${fmtPercent(p.cpu_waiting_percent)}`
    + ` · mem ${fmtPercent(p.memory_waiting_percent)} / ${fmtPercent(p.memory_stalled_percent)}`
    + ` · io ${fmtPercent(p.io_waiting_percent)} / ${fmtPercent(p.io_stalled_percent)}`;
}

/** A figures row whose value is a list of nodes: ``<div class="row"><dt/><dd>nodes</dd></div>``. */
function nodeRow(label, cls, ...nodes) {
  return el("div", { className: `row ${cls}` }, el("dt", { textContent: label }),
    el("dd", {}, el("span", { className: "val" }, ...nodes)));
}

function clockRow(c = {}) {
  if (c.synchronised == null && c.offset_seconds == null) return null; // no timex data
  const sync = c.synchronised == null ? el("span", { className: "nm", textContent: "sync n/m" })
    : c.synchronised ? el("span", { className: "lvl-ok", textContent: "synchronised" })
      : el("span", { className: "lvl-crit clock-unsync", textContent: "not synchronised" });
  return nodeRow("Clock", "clock-row", sync, ` · offset ${fmtOffset(c.offset_seconds)}`);
}

const UNITS_SHOWN = 5;

/** Failed systemd units: the count and names (alert colour), "none", or nothing without systemd. */
function unitsRow(s) {
  const failed = s.units?.failed;
  const names = (s.failed_units || []).map((u) => u.name);
  if (failed == null && !names.length) return null; // no systemd data from this host
  const n = isNum(failed) ? failed : names.length;
  if (!n) return nodeRow("Failed units", "units-row", el("span", { className: "lvl-ok", textContent: "none" }));
  const shown = names.slice(0, UNITS_SHOWN);
  const more = names.length - shown.length;
  return nodeRow("Failed units", "units-row",
    el("span", { className: "lvl-crit units-failed", textContent: `${fmtNumber(n, 0)} failed` }),
    ...shown.map((name) => el("span", { className: "unit-name", textContent: name })),
    more > 0 ? el("span", { className: "muted", textContent: `+${more} more` }) : null);
}

/** One line per S.M.A.R.T. device: "sda passed · 34 °C · 7 % used"; omitted with no device. */
function disksRow(disks = []) {
  if (!disks.length) return null;
  const lines = disks.map((d) => {
    const st = d.smart_status == null ? el("span", { className: "nm", textContent: "n/m" })
      : d.smart_status ? el("span", { className: "lvl-ok", textContent: "passed" })
        : el("span", { className: "lvl-crit disk-failed", textContent: "FAILED" });
    const extra = [];
    if (isNum(d.temperature_celsius)) extra.push(`${fmtNumber(d.temperature_celsius, 0)} °C`);
    if (isNum(d.percentage_used)) extra.push(`wear ${fmtPercent(d.percentage_used)}`);
    if (isNum(d.media_errors) && d.media_errors > 0) extra.push(`${fmtNumber(d.media_errors, 0)} media errors`);
    if (isNum(d.critical_warning) && d.critical_warning > 0) extra.push(`critical warning ${d.critical_warning}`);
    if (isNum(d.power_on_seconds)) extra.push(`on ${fmtDuration(d.power_on_seconds)}`);
    return el("span", { className: "disk-line", dataset: { device: d.device } },
      el("span", { className: "disk-dev", textContent: d.device }), " ", st,
      extra.length ? ` · ${extra.join(" · ")}` : "");
  });
  return nodeRow("S.M.A.R.T.", "disks-row", ...lines);
}

/** The health rows of a host card, in order; rows without data are left out (null). */
export function healthRows(s, row) {
  return [row("Pressure", pressureText(s.pressure)), clockRow(s.clock), unitsRow(s), disksRow(s.disks)];
}

const CONTAINERS_SHOWN = 10;

const byCpu = (a, b) => (isNum(b.cpu_percent) ? b.cpu_percent : -1) - (isNum(a.cpu_percent) ? a.cpu_percent : -1)
  || String(a.name || a.id).localeCompare(String(b.name || b.id));

function cell(text, cls = "") {
  return el("td", { className: `${cls}${text === NM ? " nm" : ""}`.trim(), textContent: text });
}

// hosts whose containers table the user opened: the cards are rebuilt on every live update
const openTables = new Set();

/** The containers of ``host``, busiest CPU first, at most 10 rows and "+N more", in a
 * <details> (closed until the user opens it; it stays open across updates); null when the
 * host reports none. */
export function containersBlock(host, list = []) {
  if (!list.length) return null;
  const rows = [...list].sort(byCpu);
  const shown = rows.slice(0, CONTAINERS_SHOWN);
  const head = el("tr", {}, ...["Name", "CPU", "CPU limit", "Memory", "Mem limit", "OOM"].map(
    (t) => el("th", { scope: "col", textContent: t })));
  const body = shown.map((c) => el("tr", { dataset: { id: c.id } },
    el("th", { scope: "row", className: "ct-name", textContent: c.name || c.id, title: c.id }),
    cell(fmtPercent(c.cpu_percent)),
    cell(c.cpu_limit_cores == null ? "no limit" : `${fmtNumber(c.cpu_limit_cores)} cores`,
      c.cpu_limit_cores == null ? "muted" : ""),
    cell(fmtBytes(c.memory_working_set_bytes)),
    // "no limit" only where memory was measured: without the memory controller it is n/m
    cell(c.memory_working_set_bytes == null ? NM
      : c.memory_limit_bytes == null ? "no limit" : fmtBytes(c.memory_limit_bytes),
    c.memory_limit_bytes == null ? "muted" : ""),
    cell(fmtNumber(c.oom_events, 0), isNum(c.oom_events) && c.oom_events > 0 ? "lvl-crit" : "")));
  const more = rows.length - shown.length;
  return el("details", { className: "containers", open: openTables.has(host), on: {
    toggle: (e) => { if (e.target.open) openTables.add(host); else openTables.delete(host); } } },
    el("summary", { textContent: `Containers (${rows.length})` }),
    el("div", { className: "ct-wrap" }, el("table", { className: "ct-table" },
      el("thead", {}, head), el("tbody", {}, ...body))),
    more > 0 ? el("p", { className: "muted small ct-more", textContent: `+${more} more` }) : null);
}
