// Overview (health, host cards), service grid and host communication map. Every figure is put
// in the page with textContent; a missing figure shows as "n/m" (not measured), never 0.
import { el, setChildren, NM, fmtPercent, fmtBytes, fmtRate, fmtSeconds, fmtDuration, fmtAgo,
  fmtNumber, level } from "./util.js";
import { healthRows, containersBlock } from "./hosthealth.js";

/** Span that the 1 s timer keeps saying "N s ago" for Unix time ``t``. */
export function ago(t) {
  return el("span", { className: "ago", dataset: { ts: t ?? "" }, textContent: fmtAgo(t) });
}

export function refreshAgo(root = document) {
  const now = Date.now() / 1000;
  for (const s of root.querySelectorAll(".ago")) {
    s.textContent = fmtAgo(s.dataset.ts === "" ? null : Number(s.dataset.ts), now);
  }
}

function meter(pct, lvl = level(pct)) {
  const bar = el("span", { className: `bar-fill lvl-${lvl}` });
  bar.style.width = `${Math.max(0, Math.min(100, pct ?? 0))}%`; // CSSOM, allowed by the CSP
  return el("span", { className: "bar", attrs: { "aria-hidden": "true" } }, bar);
}

function row(label, value, pct, lvl) {
  return el("div", { className: "row" }, el("dt", { textContent: label }),
    el("dd", {}, pct !== undefined ? meter(pct, lvl) : null,
      el("span", { className: `val${value === NM ? " nm" : ""}`, textContent: value,
        title: value === NM ? "not measured" : "" })));
}

/** Severity of the worst active alert per host name; ``order``: severities most severe first. */
function hostSeverity(alerts, order) {
  const worst = new Map();
  for (const a of alerts || []) {
    const host = a.host ?? a.labels?.host;
    if (!host || a.state === "pending" || a.silenced_by) continue; // colour by firing alerts only
    const cur = worst.get(host);
    if (cur === undefined || order.indexOf(a.severity) < order.indexOf(cur)) worst.set(host, a.severity);
  }
  return worst;
}

/** ``sev``: the host's worst firing severity (if any); ``top``: the most severe there is. */
function hostCard(h, sev, top) {
  const s = h.summary || {};
  const mem = s.memory || {};
  const state = !h.up ? "down" : !sev ? "ok" : sev === top ? "crit" : "warn";
  const memUsed = typeof mem.total_bytes === "number" && typeof mem.available_bytes === "number"
    ? mem.total_bytes - mem.available_bytes : null;
  const rows = [
    row("CPU", `${fmtPercent(s.cpu_percent)}${s.load1 != null ? ` · load ${fmtNumber(s.load1)}` : ""}`, s.cpu_percent),
    row("Memory", `${fmtPercent(mem.used_percent)} · ${fmtBytes(memUsed)} of ${fmtBytes(mem.total_bytes)}`, mem.used_percent),
    row("Disk", `${fmtPercent(s.disk_used_percent_max)} fullest of ${(s.filesystems || []).length} fs`, s.disk_used_percent_max),
    row("Disk I/O", `read ${fmtRate(s.disk_io?.read_bytes_per_second)} · write ${fmtRate(s.disk_io?.written_bytes_per_second)}`),
    row("Network", `in ${fmtRate(s.network?.receive_bytes_per_second)} · out ${fmtRate(s.network?.transmit_bytes_per_second)}`
      + `${s.tcp_retransmit_percent != null ? ` · TCP retrans ${fmtNumber(s.tcp_retransmit_percent, 2)} %` : ""}`),
  ];
  for (const g of s.gpus || []) {
    rows.push(row(`GPU ${g.gpu}`, `${fmtPercent(g.utilization_percent)} · ${fmtBytes(g.memory_used_bytes)} of ${fmtBytes(g.memory_total_bytes)}`
      + `${g.temperature_celsius != null ? ` · ${fmtNumber(g.temperature_celsius, 0)} °C` : ""}`, g.utilization_percent));
  }
  for (const n of s.npus || []) rows.push(row(`NPU ${n.npu}`, fmtPercent(n.utilization_percent), n.utilization_percent));
  if (s.temperature_max_celsius != null) rows.push(row("Temperature", `${fmtNumber(s.temperature_max_celsius, 0)} °C max`));
  rows.push(...healthRows(s, row));
  rows.push(row("Uptime", fmtDuration(s.uptime_seconds)));
  return el("article", { className: `card host-card state-${state}`, dataset: { host: h.name, state } },
    el("header", { className: "card-head" },
      el("h3", { className: "host-name", textContent: h.name }),
      el("span", { className: `badge badge-${h.up ? "up" : "down"}`, textContent: h.up ? "up" : "down" })),
    el("p", { className: "muted small" },
      `${h.role || "no role"} · ${h.priority} priority${h.local ? " · hub" : ""} · last seen `, ago(h.last_seen)),
    h.error ? el("p", { className: "error-text", textContent: h.error }) : null,
    h.up || h.last_seen ? el("dl", { className: "figures" }, ...rows) : null,
    h.up || h.last_seen ? containersBlock(h.name, s.containers) : null);
}

const BAND_LEVEL = { green: "ok", yellow: "warn", red: "crit" };

/** Health score, coloured by the hub's band, and its terms on a details line: each term that
 * costs points as "name −penalty (detail)". Text only (textContent), never markup from data. */
function renderHealth(status) {
  const h = status?.health || { score: status?.health_score ?? null, band: "unknown", terms: [] };
  const hs = document.getElementById("health-score");
  hs.textContent = h.score == null ? NM : String(h.score);
  hs.className = `health-value lvl-${BAND_LEVEL[h.band] || "nm"}`;
  const terms = h.terms || [];
  const costly = terms.filter((t) => t.penalty > 0);
  const line = h.score == null ? "nothing measured yet"
    : costly.length ? costly.map((t) => `${t.name.replace("_", " ")} −${t.penalty} (${t.detail})`).join(" · ")
      : `no penalty: ${terms.map((t) => t.detail).join(" · ")}`;
  const details = document.getElementById("health-terms");
  details.textContent = `${h.band}: ${line}`;
  hs.title = "100 − penalties: hosts up (weight 40), services up (40), headroom (20); "
    + "a firing critical alert caps at 69.9, a down host/service or firing high alert at 89.9";
}

export function renderOverview(st) {
  renderHealth(st.status);
  const counts = st.alertCounts || st.status?.alerts?.by_severity || {};
  // the hub's severity order (GET /api/figures); until it is known, the order of its counts
  const order = st.severities || Object.keys(counts);
  setChildren(document.getElementById("alert-counts"), ...order.map((s) =>
    el("a", { href: "#alerts", className: `chip sev-${s}`, textContent: `${counts[s] ?? 0} ${s}` })));
  const sev = hostSeverity(st.alerts, order);
  const hosts = Object.values(st.current?.hosts || {});
  setChildren(document.getElementById("host-cards"),
    ...(hosts.length ? hosts.map((h) => hostCard(h, sev.get(h.name), order[0]))
      : [el("p", { className: "muted", textContent: "No hosts configured." })]));
}

/** Availability is good when high: ok from 99.9 %, warn from 99 %. */
function availabilityLevel(v) {
  if (typeof v !== "number") return "nm";
  return v >= 99.9 ? "ok" : v >= 99 ? "warn" : "crit";
}

export function renderServices(st) {
  const list = Object.values(st.current?.services || {})
    .sort((a, b) => (a.up - b.up) || a.name.localeCompare(b.name));
  const grid = document.getElementById("service-grid");
  if (!list.length) {
    setChildren(grid, el("p", { className: "muted", textContent: "No services configured (services[] in the config)." }));
    return;
  }
  setChildren(grid, ...list.map((s) => el("article", {
    className: `card service-card state-${s.up ? "ok" : "down"}`, dataset: { service: s.name } },
  el("header", { className: "card-head" }, el("h3", { textContent: s.name }),
    el("span", { className: `badge badge-${s.up ? "up" : "down"}`, textContent: s.up ? "up" : "down" })),
  el("p", { className: "muted small" }, `${s.type}${s.host ? ` on ${s.host}` : ""} · checked `, ago(s.checked_at)),
  el("dl", { className: "figures" },
    row("Response time", fmtSeconds(s.response_time_seconds)),
    s.status_code != null ? row("Status code", String(s.status_code)) : null,
    row("Availability 24 h", fmtPercent(s.availability_24h_percent), s.availability_24h_percent,
      availabilityLevel(s.availability_24h_percent)),
    // of the monitored time only: how much of the 24 h that was (unknown never counts as up)
    row("Monitored 24 h", typeof s.coverage_24h_percent === "number"
      ? `${fmtDuration(86400 - s.unknown_24h_seconds)} (${fmtPercent(s.coverage_24h_percent)})` : NM)),
  s.error ? el("p", { className: "error-text", textContent: s.error }) : null)));
}

// -- host communication map ------------------------------------------------------------------
const SRC = ["source", "src", "from", "source_host"];
const DST = ["target", "dst", "to", "peer", "destination", "target_host"];

function meshKind(name) {
  if (/latency|rtt|round_trip/.test(name)) return "latency";
  if (/jitter/.test(name)) return "jitter";
  if (/loss/.test(name)) return "loss";
  if (/_up$|reachable/.test(name)) return "up";
  return null;
}

function meshValue(kind, name, v) {
  if (v == null) return NM;
  if (kind === "loss") return `loss ${fmtPercent(name.endsWith("_ratio") ? v * 100 : v)}`;
  if (kind === "up") return v ? "reachable" : "unreachable";
  const t = name.endsWith("_milliseconds") ? fmtSeconds(v / 1000) : fmtSeconds(v);
  return kind === "jitter" ? `jitter ${t}` : t;
}

/** Pairs from ``autobot_mesh_*`` families of current?full=true: Map("src\0dst" -> {kind: text}). */
export function meshPairs(full) {
  const pairs = new Map();
  for (const h of Object.values(full?.hosts || {})) {
    for (const f of h.families || []) {
      if (!f.name.startsWith("autobot_mesh_")) continue;
      const kind = meshKind(f.name);
      if (!kind) continue;
      for (const s of f.samples) {
        // the agent exports p50 and p99 per method (tcp, icmp): the cell shows the TCP p50
        if (s.labels.quantile !== undefined && s.labels.quantile !== "0.5") continue;
        if (s.labels.method && s.labels.method !== "tcp") continue;
        const src = SRC.map((k) => s.labels[k]).find(Boolean) || h.name;
        const dst = DST.map((k) => s.labels[k]).find(Boolean);
        if (!dst) continue;
        const key = `${src}\u0000${dst}`;
        pairs.set(key, { ...(pairs.get(key) || {}), [kind]: meshValue(kind, f.name, s.value) });
      }
    }
  }
  return pairs;
}

export function renderMap(st) {
  const hosts = Object.values(st.current?.hosts || {});
  const pairs = meshPairs(st.full);
  const names = [...new Set([...hosts.map((h) => h.name),
    ...[...pairs.keys()].flatMap((k) => k.split("\u0000"))])];
  const up = new Map(hosts.map((h) => [h.name, h.up]));
  document.getElementById("map-note").textContent = pairs.size
    ? `Latency, jitter and loss between hosts from the autobot_mesh_* metrics (rows: from, columns: to).`
    : (st.full ? "No latency mesh data: the hub reports no autobot_mesh_* metrics yet, so only the hosts are shown."
      : "Loading…");
  const head = el("tr", {}, el("th", { scope: "col", textContent: "from \\ to" }),
    ...names.map((n) => el("th", { scope: "col", textContent: n })));
  const body = names.map((src) => el("tr", {}, el("th", { scope: "row", textContent: src }),
    ...names.map((dst) => {
      if (src === dst) {
        const u = up.get(src);
        return el("td", { className: `self state-${u === undefined ? "nm" : u ? "ok" : "down"}`,
          textContent: u === undefined ? "self" : `self · ${u ? "up" : "down"}` });
      }
      const p = pairs.get(`${src}\u0000${dst}`);
      if (!p) return el("td", { className: "nm", textContent: "—", title: "not measured" });
      const bad = p.up === "unreachable";
      return el("td", { className: bad ? "state-down" : "state-ok" },
        ...Object.values(p).map((t) => el("div", { textContent: t })));
    })));
  setChildren(document.getElementById("map"),
    el("table", { className: "matrix" }, el("thead", {}, head), el("tbody", {}, ...body)));
}
