// DOM and formatting helpers. Data is only ever put in the page as text (textContent) or as a
// property value; nothing here parses HTML.

/** el("div", {className: "x", dataset: {host: h}}, child, "text") -> HTMLElement. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "attrs") for (const [a, av] of Object.entries(v)) node.setAttribute(a, av);
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else node[k] = v;
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replace every child of ``node`` by ``children``. */
export function setChildren(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

export const NM = "n/m"; // not measured: the API sent null / left the field out

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

function fixed(v, max) {
  // 3 significant digits at most, never more than ``max`` decimals
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toFixed(Math.min(d, max));
}

export function fmtPercent(v) {
  return isNum(v) ? `${fixed(v, 1)} %` : NM;
}

const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const SI = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Capacities in IEC units: 16.0 GiB. */
export function fmtBytes(v) {
  if (!isNum(v)) return NM;
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < IEC.length - 1) { x /= 1024; i++; }
  return `${i === 0 ? Math.round(x) : fixed(x, 2)} ${IEC[i]}`;
}

/** Rates in SI units: 1.25 MB/s. */
export function fmtRate(v) {
  if (!isNum(v)) return NM;
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < SI.length - 1) { x /= 1000; i++; }
  return `${i === 0 ? fixed(x, 1) : fixed(x, 2)} ${SI[i]}/s`;
}

/** A response time given in seconds: 0.42 ms, 12.3 ms, 1.25 s. */
export function fmtSeconds(v) {
  if (!isNum(v)) return NM;
  if (v < 1) return `${fixed(v * 1000, 2)} ms`;
  return `${fixed(v, 2)} s`;
}

/** A long duration in seconds: 3 d 4 h, 5 h 12 min, 42 s. */
export function fmtDuration(v) {
  if (!isNum(v)) return NM;
  const s = Math.max(0, Math.round(v));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** "4 s ago" from a Unix time in seconds; "never" for null. */
export function fmtAgo(t, now = Date.now() / 1000) {
  if (!isNum(t)) return "never";
  return `${fmtDuration(Math.max(0, now - t))} ago`;
}

/** Local wall time of a Unix time in seconds: 14:03:07 (with the date when not today). */
export function fmtTime(t) {
  if (!isNum(t)) return NM;
  const d = new Date(t * 1000);
  const time = d.toLocaleTimeString([], { hour12: false });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

export function fmtNumber(v, digits = 2) {
  return isNum(v) ? String(Number(v.toFixed(digits))) : NM;
}

/** Level of a percentage for colouring: ok (< 75), warn (< 90), crit. */
export function level(v) {
  if (!isNum(v)) return "nm";
  return v >= 90 ? "crit" : v >= 75 ? "warn" : "ok";
}

/** GET a JSON document; throws Error with the API's {"error": ...} text on a non-2xx answer. */
export async function getJSON(url, opts = {}) {
  const r = await fetch(url, { cache: "no-store", ...opts });
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText} for ${url}`);
  return body;
}

let figuresDocP = null;

/** ``GET /api/figures``, fetched once (a failure is retried on the next call): ``figures``, the
 * hub's declared figures, and ``severities``, the severity names most severe first. */
export function figuresDoc() {
  figuresDocP ||= getJSON("/api/figures").catch((e) => { figuresDocP = null; throw e; });
  return figuresDocP;
}

/** Offer ``text`` as a file download named ``name`` (client-side, via a Blob URL). */
export function download(name, mime, text) {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = el("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
