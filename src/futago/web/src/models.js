// Models and data: the DTDL models, a twin's neighbourhood in the graph, a query box, data quality per sensor
// (flags over time) and the data catalog with licence and provenance.
import { api, escapeHtml } from "./api.js";
import { formatNumber, formatTime, onLanguage, pick, t } from "./i18n.js";

const FLAG_COLOURS = { 1: "#2e9e5b", 2: "#4e79a7", 3: "#e3a21a", 4: "#d1343a", 9: "#8a8f98" };
let openTwin = () => {};
let openGroup = () => {};
let loaded = false;

function section(id, title, inner) {
  return `<section class="panel" aria-labelledby="${id}-h"><h3 id="${id}-h">${title}</h3>${inner}</section>`;
}

function modelsPanel(models) {
  return section("models", t("models"), `<ul class="model-list">${models.map((m) => `<li><code>${escapeHtml(m.id)}</code> ${escapeHtml(pick(m.displayName))}</li>`).join("")}</ul>`);
}

const GROUP_FROM = 4; // this many relationships of one name and direction or more are drawn as one node

/** [id, name, dir] edges with many of one name folded into [null, name, dir, count, ids]: one spoke, not 119,
 * that still knows its twins so that a click can list them. */
export function groupEdges(edges) {
  const members = new Map();
  for (const [id, name, dir] of edges) {
    const key = `${dir}|${name}`;
    if (!members.has(key)) members.set(key, []);
    members.get(key).push(id); // one array per group, so done below can tell groups apart by it
  }
  const done = new Set();
  const out = [];
  for (const [id, name, dir] of edges) {
    const ids = members.get(`${dir}|${name}`);
    if (ids.length < GROUP_FROM) out.push([id, name, dir, 1, [id]]);
    else if (!done.has(ids)) {
      done.add(ids);
      out.push([null, name, dir, ids.length, ids]);
    }
  }
  return out;
}

function nodeSvg(n) {
  if (n.id === null) {
    const text = `${n.name} ×${formatNumber(n.count, 0)}`;
    return `<g class="node group" tabindex="0" role="button" data-group="${escapeHtml(n.name)}" data-dir="${n.dir}" data-count="${n.count}" aria-label="${escapeHtml(text)}"><circle cx="${n.x}" cy="${n.y}" r="11"/><text x="${n.x}" y="${n.y - 15}">${escapeHtml(text)}</text></g>`;
  }
  const short = n.id.length > 24 ? n.id.slice(0, 22) + "…" : n.id;
  return `<g class="node" tabindex="0" role="button" data-node="${escapeHtml(n.id)}" aria-label="${escapeHtml(n.id)}"><circle cx="${n.x}" cy="${n.y}" r="7"/><text x="${n.x}" y="${n.y - 11}">${escapeHtml(short)}</text></g>`;
}

/** A click, Enter or Space on an SVG node that acts as a button. */
function activate(node, go) {
  node.addEventListener("click", go);
  node.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault(); // Space would scroll the view
    go();
  });
}

/** The chosen twin in the middle, its relationships around it: an SVG the keyboard can walk (each node is a button). */
async function graph(twinId) {
  const el = document.getElementById("graph");
  el.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const enc = encodeURIComponent(twinId);
    const [out, incoming] = await Promise.all([api(`/twins/${enc}/relationships`), api(`/twins/${enc}/incomingrelationships`)]);
    const edges = groupEdges([
      ...out.value.map((r) => [r.$targetId, r.$relationshipName, "out"]),
      ...incoming.value.map((r) => [r.$sourceId, r.$relationshipName, "in"]),
    ]).slice(0, 24);
    const w = 640;
    const h = 360;
    const nodes = edges.map(([id, name, dir, count, ids], i) => {
      const angle = (2 * Math.PI * i) / Math.max(edges.length, 1);
      return { id, name, dir, count, ids, x: w / 2 + 240 * Math.cos(angle), y: h / 2 + 140 * Math.sin(angle) };
    });
    el.innerHTML = `<svg viewBox="0 0 ${w} ${h}" role="group" aria-label="${escapeHtml(t("twinGraph"))}: ${escapeHtml(twinId)}">
      ${nodes.map((n) => `<line x1="${w / 2}" y1="${h / 2}" x2="${n.x}" y2="${n.y}" class="edge ${n.dir}"/><text x="${(w / 2 + n.x) / 2}" y="${(h / 2 + n.y) / 2}" class="edge-label">${escapeHtml(n.name)}</text>`).join("")}
      <g class="node centre"><circle cx="${w / 2}" cy="${h / 2}" r="9"/><text x="${w / 2}" y="${h / 2 - 14}">${escapeHtml(twinId)}</text></g>
      ${nodes.map(nodeSvg).join("")}
    </svg>`;
    for (const node of el.querySelectorAll("[data-node]")) {
      activate(node, () => {
        document.getElementById("graph-twin").value = node.dataset.node;
        graph(node.dataset.node);
        openTwin(node.dataset.node);
      });
    }
    // A group node lists its twins in the inspector (by name), where each one opens.
    const groups = el.querySelectorAll("[data-group]");
    nodes.filter((n) => n.id === null).forEach((n, i) => activate(groups[i], () => openGroup({ twinId, name: n.name, dir: n.dir, ids: n.ids })));
  } catch (error) {
    el.innerHTML = `<p class="error" role="alert">${escapeHtml(error.message)}</p>`;
  }
}

async function runQuery(event) {
  event.preventDefault();
  const out = document.getElementById("query-result");
  out.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const result = await api("/query", { method: "POST", body: { query: document.getElementById("query-text").value } });
    const rows = result.value || [];
    const columns = [...new Set(rows.slice(0, 200).flatMap((r) => Object.keys(r)))].slice(0, 8);
    out.innerHTML = `<p class="muted">${rows.length} ${t("rows")}</p><div class="scroll"><table class="grid"><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>
      <tbody>${rows.slice(0, 200).map((r) => `<tr>${columns.map((c) => `<td>${escapeHtml(typeof r[c] === "object" ? JSON.stringify(r[c]) : r[c])}</td>`).join("")}</tr>`).join("")}</tbody></table></div>`;
  } catch (error) {
    out.innerHTML = `<p class="error" role="alert">${escapeHtml(error.message)}</p>`;
  }
}

async function quality(event) {
  event?.preventDefault();
  const [twin, name] = document.getElementById("quality-series").value.split("|");
  const out = document.getElementById("quality-result");
  if (!twin) return;
  try {
    const q = await api(`/twins/${encodeURIComponent(twin)}/quality`, { params: { name } });
    const counts = {};
    for (const f of q.quality) counts[f] = (counts[f] || 0) + 1;
    const n = q.quality.length || 1;
    const width = 600;
    const step = width / n;
    const bars = q.quality.map((f, i) => `<rect x="${(i * step).toFixed(2)}" y="0" width="${Math.max(step, 0.5).toFixed(2)}" height="24" fill="${FLAG_COLOURS[f] || "#999"}"/>`).join("");
    const names = { 1: "pass", 2: "notEvaluated", 3: "suspect", 4: "fail", 9: "missing" };
    out.innerHTML = `<svg viewBox="0 0 ${width} 24" class="flags" role="img" aria-label="${escapeHtml(t("dataQuality"))}">${bars}</svg>
      <p class="muted">${escapeHtml(formatTime(q.ts[0]))} → ${escapeHtml(formatTime(q.ts[q.ts.length - 1]))}</p>
      <p>${Object.entries(counts).map(([f, c]) => `<span class="flag q${f}">${t(names[f] || "notEvaluated")}</span> ${formatNumber((100 * c) / n, 1)}%`).join(" · ")}</p>`;
  } catch (error) {
    out.innerHTML = `<p class="error" role="alert">${escapeHtml(error.message)}</p>`;
  }
}

function catalogPanel(catalog) {
  return section("catalog", t("catalog"), `<div class="scroll"><table class="grid" id="catalog-table"><thead><tr><th>${t("kind")}</th><th>ID</th><th>${t("licence")}</th><th>${t("records")}</th><th>${t("updated")}</th><th>${t("provenance")}</th></tr></thead><tbody>
      ${catalog.map((d) => `<tr><td>${escapeHtml(d.kind)}</td><td>${escapeHtml(d.title || d.id)}</td><td>${escapeHtml(d.licence)}</td><td>${escapeHtml(JSON.stringify(d.records ?? ""))}</td><td>${escapeHtml(formatTime(d.updated))}</td><td><details><summary>…</summary><pre>${escapeHtml(JSON.stringify(d.provenance, null, 1))}</pre></details></td></tr>`).join("")}
    </tbody></table></div>`);
}

async function render() {
  const view = document.getElementById("view-models");
  view.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const [catalog, models] = (await Promise.all([api("/catalog"), api("/models")])).map((r) => r.value || []);
    const series = catalog
      .filter((d) => d.kind === "telemetry")
      .flatMap((d) => (d.provenance?.series || []).map((s) => [d.provenance.twin, s.name]));
    const riverFirst = (twin) => (/river|station/.test(twin) ? 0 : 1);
    series.sort((a, b) => riverFirst(a[0]) - riverFirst(b[0]));
    const first = series[0]?.[0] || "";
    view.innerHTML = `<h2>${t("modelsData")}</h2>
      ${section("graph", t("twinGraph"), `<form class="form-row" id="graph-form"><label>${t("twin")} <input id="graph-twin" value="${escapeHtml(first)}"></label><button type="submit">${t("run")}</button></form><p class="muted">${t("graphHelp")}</p><div id="graph" class="graph"></div>`)}
      ${section("query", t("query"), `<form id="query-form"><label for="query-text" class="sr-only">${t("query")}</label><textarea id="query-text" rows="3">SELECT T.$dtId, T.$metadata.$model FROM DIGITALTWINS T WHERE IS_DEFINED(T.serialNumber)</textarea><button type="submit" id="query-run">${t("runQuery")}</button></form><div id="query-result" aria-live="polite"></div>`)}
      ${section("quality", t("dataQuality"), `<form class="form-row" id="quality-form"><label>${t("telemetry")} <select id="quality-series">${series.map(([tw, n]) => `<option value="${escapeHtml(tw)}|${escapeHtml(n)}">${escapeHtml(tw)} · ${escapeHtml(n)}</option>`).join("")}</select></label><button type="submit">${t("run")}</button></form><div id="quality-result"></div>`)}
      ${catalogPanel(catalog)}
      ${modelsPanel(models)}`;
    document.getElementById("graph-form").addEventListener("submit", (e) => {
      e.preventDefault();
      graph(document.getElementById("graph-twin").value);
    });
    document.getElementById("query-form").addEventListener("submit", runQuery);
    document.getElementById("quality-form").addEventListener("submit", quality);
    graph(first);
    quality();
  } catch (error) {
    view.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
}

export function init({ onTwin, onGroup }) {
  openTwin = onTwin;
  openGroup = onGroup || openGroup;
  onLanguage(() => loaded && render());
}

export function show() {
  if (!loaded) {
    loaded = true;
    return render();
  }
  return null;
}
