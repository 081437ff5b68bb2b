// autobot-monitor dashboard: state, WebSocket feed with reconnect, views, range picker.
// Reads only the hub's public API (same origin); the CSP forbids anything else.
import { el, setChildren, fmtTime, fmtAgo, getJSON, figuresDoc } from "./util.js";
import { renderOverview, renderServices, renderMap, refreshAgo } from "./views.js";
import { renderAlerts, renderHistory, findAlertActions } from "./alerts.js";
import { ChartBoard } from "./charts.js";

// Access control: state-changing requests carry the CSRF token (double submit of the
// autobot_csrf cookie); a 401 means the session is gone: back to the login page.
const nativeFetch = window.fetch.bind(window);
window.fetch = async (url, opts = {}) => {
  const method = (opts.method || "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD") {
    const csrf = (document.cookie.match(/(?:^|;\s*)autobot_csrf=([^;]*)/) || [])[1] || "";
    opts = { ...opts, headers: { ...(opts.headers || {}), "X-CSRF-Token": csrf } };
  }
  const r = await nativeFetch(url, opts);
  if (r.status === 401) location.assign("/login");
  return r;
};

const VIEWS = ["overview", "charts", "services", "map", "alerts"];
const $ = (id) => document.getElementById(id);

const st = {
  current: null, status: null, alerts: [], full: null, fullAt: 0,
  lastTs: null, interval: 10, connected: false, actions: {}, actionsKnown: false, severities: null,
  view: "overview", retryAt: null, ready: false,
};
const board = new ChartBoard($("charts"));

// -- rendering ---------------------------------------------------------------------------------
function renderAll() {
  renderOverview(st);
  renderServices(st);
  renderAlerts(st, refreshAlerts);
  if (st.view === "map") renderMap(st);
  updateHostSelect();
}

function updateHostSelect() {
  const sel = $("chart-host");
  const names = Object.keys(st.current?.hosts || {});
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (names.join("\u0000") === have.join("\u0000")) return;
  const keep = sel.value;
  setChildren(sel, el("option", { value: "", textContent: "all hosts" }),
    ...names.map((n) => el("option", { value: n, textContent: n })));
  sel.value = names.includes(keep) ? keep : "";
}

function onUpdate(data, ts) {
  st.current = data;
  st.lastTs = ts;
  if (data.interval_seconds) st.interval = data.interval_seconds;
  renderOverview(st);
  renderServices(st);
  const up = $("updated");
  up.textContent = `updated ${fmtTime(ts)}`;
  up.dataset.ts = String(ts);
  board.update(data, ts);
  updateHostSelect();
  checkStale();
  refreshSide();
}

async function refreshSide() {
  // health score and alerts are rendered once per cycle by the hub: cheap to re-read
  const [status, alerts] = await Promise.allSettled([getJSON("/api/system/status"), getJSON("/api/alerts")]);
  if (!st.severities) await loadSeverities();
  if (status.status === "fulfilled") st.status = status.value;
  if (alerts.status === "fulfilled") { st.alerts = alerts.value.alerts || []; st.alertCounts = alerts.value.counts; }
  renderOverview(st);
  renderAlerts(st, refreshAlerts);
  if (st.view === "map" && Date.now() - st.fullAt > 10000) loadFull();
  if (st.view === "alerts" && Date.now() - (st.historyAt || 0) > 5000) { st.historyAt = Date.now(); renderHistory(st.actions); }
}

/** The hub's severity order (``severities`` of GET /api/figures); left unset when unreachable. */
async function loadSeverities() {
  try { st.severities = (await figuresDoc()).severities; } catch { st.severities = null; }
}

async function refreshAlerts() {
  await refreshSide();
  renderHistory(st.actions);
}

async function loadFull() {
  st.fullAt = Date.now();
  try { st.full = await getJSON("/api/metrics/current?full=true"); } catch { st.full = st.full || null; }
  renderMap(st);
}

// -- connection --------------------------------------------------------------------------------
let ws = null;
let attempt = 0;

function connect() {
  setConn("connecting", "connecting…");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  ws = new WebSocket(url);
  ws.onopen = () => { attempt = 0; st.connected = true; st.retryAt = null; setConn("live", "live"); checkStale(); };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg && msg.type === "metrics_update" && msg.data) onUpdate(msg.data, msg.timestamp);
  };
  ws.onclose = () => {
    st.connected = false;
    const delay = Math.min(15000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
    attempt = Math.min(attempt + 1, 10);
    st.retryAt = Date.now() + delay;
    tickConn();
    checkStale();
    setTimeout(connect, delay);
  };
  ws.onerror = () => { /* onclose follows and schedules the retry */ };
}

function setConn(state, text) {
  const c = $("conn");
  c.className = `conn conn-${state}`;
  c.dataset.state = state;
  c.textContent = text;
}

function tickConn() {
  if (st.connected || st.retryAt === null) return;
  const s = Math.max(0, Math.ceil((st.retryAt - Date.now()) / 1000));
  setConn("down", `disconnected, retrying in ${s} s`);
}

/** Data is stale when the feed is down or no update came for 3 cycles. */
function checkStale() {
  const age = st.lastTs == null ? null : Date.now() / 1000 - st.lastTs;
  const stale = st.lastTs !== null && (!st.connected || age > Math.max(3 * st.interval, 5));
  document.body.classList.toggle("stale", stale);
  const b = $("stale-banner");
  b.hidden = !stale;
  if (stale) b.textContent = `Stale data: last update ${fmtAgo(st.lastTs)}${st.connected ? "" : " (not connected)"}.`;
}

// -- navigation and controls -------------------------------------------------------------------
function showView(name, focus) {
  st.view = VIEWS.includes(name) ? name : "overview";
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== st.view;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${st.view}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // charts wait for the first answer: their step depends on the hub's cycle interval
  if (st.view === "charts" && st.ready) { if (!board.loaded) board.reload(); else board.shown(); }
  if (st.view === "map") loadFull();
  if (st.view === "alerts") renderHistory(st.actions);
  if (focus) $(`view-${st.view}`).querySelector("h2").focus();
}

function setRange(btn) {
  for (const b of document.querySelectorAll("#range-buttons button")) b.setAttribute("aria-pressed", String(b === btn));
  const custom = btn.dataset.range === "custom";
  $("custom-range").hidden = !custom;
  if (custom) {
    const toLocal = (t) => new Date(t - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    if (!$("range-from").value) $("range-from").value = toLocal(Date.now() - 3600000);
    if (!$("range-to").value) $("range-to").value = toLocal(Date.now());
    $("range-from").focus();
    return;
  }
  board.custom = null;
  board.rangeS = Number(btn.dataset.range);
  board.reload();
}

function applyCustom(ev) {
  ev.preventDefault();
  const from = new Date($("range-from").value).getTime() / 1000;
  const to = new Date($("range-to").value).getTime() / 1000;
  const msg = $("range-error");
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
    msg.textContent = "Pick a start before the end.";
    return;
  }
  msg.textContent = "";
  board.custom = { start: from, end: to };
  board.reload();
}

// Logout (shown only with a session, i.e. when the hub has access control): the hub ends the
// session server-side, then back to the login page.
function setupLogout() {
  const b = $("logout");
  b.hidden = !/(?:^|;\s*)autobot_csrf=/.test(document.cookie);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try { await fetch("/logout", { method: "POST" }); } finally { location.assign("/login"); }
  });
}

async function init() {
  setupLogout();
  for (const b of document.querySelectorAll("#range-buttons button")) b.addEventListener("click", () => setRange(b));
  $("custom-range").addEventListener("submit", applyCustom);
  $("chart-host").addEventListener("change", (e) => { board.host = e.target.value; board.reload(); });
  window.addEventListener("hashchange", () => showView(location.hash.slice(1), true));
  setInterval(() => { refreshAgo(); tickConn(); checkStale(); }, 1000);
  showView(location.hash.slice(1), false);

  const [cur, status, alerts, spec] = await Promise.allSettled([getJSON("/api/metrics/current"),
    getJSON("/api/system/status"), getJSON("/api/alerts"), getJSON("/openapi.json"), loadSeverities()]);
  if (spec.status === "fulfilled") {
    st.actions = findAlertActions(spec.value);
    st.actionsKnown = true;
    $("version").textContent = `autobot-monitor ${spec.value.info?.version || ""}`;
  }
  if (status.status === "fulfilled") st.status = status.value;
  if (alerts.status === "fulfilled") { st.alerts = alerts.value.alerts || []; st.alertCounts = alerts.value.counts; }
  if (cur.status === "fulfilled" && cur.value.timestamp) {
    st.current = cur.value;
    st.lastTs = cur.value.timestamp;
    board.interval = cur.value.interval_seconds || board.interval;
  }
  st.ready = true;
  renderAll();
  if (st.view === "alerts") renderHistory(st.actions);
  if (st.view === "charts") board.reload();
  connect();
  document.body.dataset.ready = "1";
  performance.mark("autobot-ready"); // first data on screen (bench/dashboard_latency.py)
}

init();
