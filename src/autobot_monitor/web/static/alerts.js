// Alerts view: active alerts by severity; acknowledge / silence buttons only where the hub's
// OpenAPI document (read at run time) offers a POST endpoint for them; recent history likewise.
import { el, setChildren, fmtPercent, fmtSeconds, fmtNumber, getJSON } from "./util.js";
import { ago } from "./views.js";

function resolveRef(spec, schema) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 10; i++) {
    s = s.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), spec);
  }
  if (s && !s.properties && (s.allOf || s.anyOf)) {
    const parts = (s.allOf || s.anyOf).map((p) => resolveRef(spec, p)).filter(Boolean);
    return { properties: Object.assign({}, ...parts.map((p) => p.properties || {})),
      required: parts.flatMap((p) => p.required || []) };
  }
  return s;
}

// How to fill a request-body property, by its name, from an alert.
const FILL = [
  [/^(fingerprint|alert_?id|alert_fingerprint|id|alert)$/, (a) => a.fingerprint ?? a.id],
  [/^(alertname|alert_name|name|rule)$/, (a) => a.name],
  [/^(matchers|labels)$/, (a, p) => (p.type === "array"
    ? Object.entries({ alertname: a.name, ...a.labels }).map(([name, value]) => ({ name, value }))
    : { alertname: a.name, ...a.labels })],
  [/^(duration|duration_seconds|seconds|for|ttl)$/, (a, p, secs) => (p.type === "string" ? `${secs}s` : secs)],
  [/^(ends_at|until|expires_at|end|end_time)$/, (a, p, secs) => (p.type === "string"
    ? new Date(Date.now() + secs * 1000).toISOString() : Date.now() / 1000 + secs)],
  [/^(comment|reason|note|message)$/, () => "from the dashboard"],
  [/^(created_by|author|by|user|acknowledged_by|actor)$/, () => "dashboard"],
];

function filler(prop) {
  const f = FILL.find(([re]) => re.test(prop.toLowerCase()));
  return f ? f[1] : null;
}

/** {acknowledge?, silence?, history?} from an OpenAPI document: each a {method, path, param,
 * props} the page can call. An operation whose required body fields it cannot fill is left out. */
export function findAlertActions(spec) {
  const out = {};
  for (const [path, ops] of Object.entries(spec?.paths || {})) {
    const p = path.toLowerCase();
    if (!p.startsWith("/api/") || !p.includes("alert") && !p.includes("silenc")) continue;
    if (ops.get && /history|recent|resolved/.test(p) && !/\{/.test(p)) out.history = { path };
    const op = ops.post;
    if (!op || /\/un|delete|expire|remove/.test(p)) continue;
    const kind = /ack/.test(p) ? "acknowledge" : /silenc/.test(p) ? "silence" : null;
    if (!kind) continue;
    const params = path.match(/\{[^}]+\}/g) || [];
    if (params.length > 1) continue;
    const schema = resolveRef(spec, op.requestBody?.content?.["application/json"]?.schema) || {};
    const props = schema.properties || {};
    const required = schema.required || [];
    if (!required.every((r) => filler(r))) continue;
    if (!params.length && !Object.keys(props).some((k) => /^(fingerprint|alert_?id|alert_fingerprint|id|alert|matchers|labels)$/.test(k))) continue;
    const cand = { method: "POST", path, param: params[0] || null, props: Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, resolveRef(spec, v) || {}])), hasBody: !!op.requestBody };
    if (!out[kind] || (cand.param && !out[kind].param)) out[kind] = cand;
  }
  return out;
}

async function perform(action, alert, secs) {
  const id = alert.fingerprint ?? alert.id;
  const path = action.param ? action.path.replace(action.param, encodeURIComponent(id)) : action.path;
  const body = {};
  for (const [k, p] of Object.entries(action.props)) {
    const f = filler(k);
    if (f) body[k] = f(alert, p, secs);
  }
  const r = await fetch(path, { method: action.method, headers: { "Content-Type": "application/json" },
    body: action.hasBody ? JSON.stringify(body) : undefined });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(msg);
  }
}

function figure(a) {
  if (a.value == null || !a.unit) return null; // a unitless value (0 for "down") says nothing
  const f = a.unit === "percent" ? fmtPercent : a.unit === "seconds" ? fmtSeconds : (v) => fmtNumber(v);
  return `${f(a.value)}${a.threshold != null ? ` (threshold ${f(a.threshold)})` : ""}`;
}

function alertItem(a, actions, onDone) {
  const msg = el("span", { className: "action-msg", attrs: { "aria-live": "polite" } });
  const act = (kind, label, secs) => el("button", { type: "button", className: `btn-${kind}`, textContent: label,
    on: { click: async (ev) => {
      ev.currentTarget.disabled = true;
      try { await perform(actions[kind], a, secs); msg.textContent = `${kind === "silence" ? "silenced" : "acknowledged"}`; onDone(); }
      catch (e) { msg.textContent = `${kind} failed: ${e.message}`; ev.currentTarget.disabled = false; }
    } } });
  const acked = a.acknowledged_by || a.acknowledged;
  const silenced = a.silenced_by || a.silenced;
  const host = a.host ?? a.labels?.host;
  const state = [a.state, acked ? `acknowledged${a.acknowledged_by ? ` by ${a.acknowledged_by}` : ""}` : null,
    silenced ? "silenced" : null, a.flapping ? "flapping" : null].filter(Boolean);
  return el("li", { className: `alert-item sev-${a.severity}`, dataset: { fingerprint: a.fingerprint ?? a.id ?? "" } },
    el("div", { className: "alert-head" },
      el("span", { className: `badge sev-${a.severity}`, textContent: a.severity }),
      el("strong", { className: "alert-name", textContent: a.name }),
      state.length ? el("span", { className: "chip", textContent: state.join(", ") }) : null),
    el("p", { className: "alert-summary", textContent: a.summary || "" }),
    el("p", { className: "muted small" }, host ? `host ${host} · ` : "", "since ", ago(a.since ?? a.active_since),
      figure(a) ? ` · ${figure(a)}` : ""),
    Object.keys(a.labels || {}).length ? el("p", { className: "labels" },
      ...Object.entries(a.labels).map(([k, v]) => el("span", { className: "chip", textContent: `${k}=${v}` }))) : null,
    actions.acknowledge || actions.silence ? el("div", { className: "alert-actions" },
      actions.acknowledge && !acked ? act("acknowledge", "Acknowledge") : null,
      actions.silence && !silenced ? act("silence", "Silence 1 h", 3600) : null, msg) : null);
}

export function renderAlerts(st, onChanged) {
  const alerts = st.alerts || [];
  const actions = st.actions || {};
  document.getElementById("alert-actions-note").textContent = actions.acknowledge || actions.silence
    ? "" : (st.actionsKnown ? "This hub's API offers no acknowledge or silence endpoint, so there are no buttons." : "");
  const order = st.severities || []; // the hub's, most severe first (GET /api/figures)
  const groups = [...order, ...new Set(alerts.map((a) => a.severity).filter((s) => !order.includes(s)))];
  const box = document.getElementById("alert-list");
  if (!alerts.length) {
    setChildren(box, el("p", { className: "muted no-alerts", textContent: "No active alerts." }));
  } else {
    setChildren(box, ...groups.map((sev) => {
      const list = alerts.filter((a) => a.severity === sev);
      return list.length ? el("section", { className: `alert-group sev-${sev}` },
        el("h3", { textContent: `${sev} (${list.length})` }),
        el("ul", { className: "alerts" }, ...list.map((a) => alertItem(a, actions, onChanged)))) : null;
    }));
  }
  const tab = document.querySelector('a[href="#alerts"] .count');
  if (tab) tab.textContent = alerts.length ? ` (${alerts.length})` : "";
}

/** Recent alert history, when the API has an endpoint for it (shape read leniently). */
export async function renderHistory(actions) {
  const box = document.getElementById("alert-history");
  if (!actions.history) { box.hidden = true; return; }
  let doc;
  try { doc = await getJSON(actions.history.path); } catch (e) {
    setChildren(box, el("h3", { textContent: "Recent" }), el("p", { className: "error-text", textContent: e.message }));
    box.hidden = false;
    return;
  }
  const items = Array.isArray(doc) ? doc : doc.transitions || doc.alerts || doc.history || doc.items || [];
  setChildren(box, el("h3", { textContent: "Recent" }), items.length ? el("ul", { className: "alerts history" },
    ...items.slice(0, 50).map((a) => el("li", { className: `alert-item sev-${a.severity || "none"}` },
      el("div", { className: "alert-head" },
        el("span", { className: `badge sev-${a.severity || "none"}`, textContent: a.severity || "" }),
        el("strong", { textContent: a.rule || a.name || a.alertname || "" }),
        a.to ? el("span", { className: "chip", textContent: `${a.from || "new"} → ${a.to}` }) : null,
        ago(a.time ?? a.resolved_at ?? a.since ?? null)),
      a.summary ? el("p", { className: "alert-summary", textContent: a.summary }) : null)))
    : el("p", { className: "muted", textContent: "No alert changes yet." }));
  box.hidden = false;
}
