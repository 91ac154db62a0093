// Models and data: the DTDL models, a twin's neighbourhood in the graph, a query box, data quality per sensor
// (flags over time) and the data catalog with licence and provenance.
import { api, escapeHtml } from "./api.js";
import { formatNumber, formatTime, onLanguage, pick, t } from "./i18n.js";
import { label, schemaOf } from "./labels.js";

const FLAG_COLOURS = { 1: "#2e9e5b", 2: "#4e79a7", 3: "#e3a21a", 4: "#d1343a", 9: "#8a8f98" };
let openTwin = () => {};
let openGroup = () => {};
let loaded = false;
let shownTwin = null; // the twin the graph shows, kept when a language switch redraws the view

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

const W = 640; // the graph's view box
const H = 360;
const NODE_FONT = 11; // px, as .node text in style.css
const EDGE_FONT = 10; // px, as .edge-label
const NODE_LINE = 130; // the widest a node's label line may be before it wraps (between words)
const EDGE_LINE = 110;
let measurer = null;

/** How wide a text is drawn in the page's font: a canvas measures it, so a view drawn while hidden wraps alike. */
function textWidth(text, size) {
  measurer ??= document.createElement("canvas").getContext("2d");
  measurer.font = `${size}px ${getComputedStyle(document.documentElement).fontFamily}`;
  return measurer.measureText(text).width;
}

/** Words joined into lines at most `max` wide; a line breaks only between words, never inside one. */
function wrapWords(words, max, size) {
  const lines = [];
  for (const word of words) {
    const longer = lines.length ? `${lines[lines.length - 1]} ${word}` : "";
    if (longer && textWidth(longer, size) <= max) lines[lines.length - 1] = longer;
    else lines.push(word);
  }
  return lines;
}

/** An SVG text of whole-word lines centred on x (moved in so that it stays inside the view box), its last line
 * on y (above: a node's label) or the block centred on y (an edge's), the raw name as its tooltip. */
function svgLabel(words, x, y, { size, max, above, cls, raw = "" }) {
  const lines = wrapWords(words.filter(Boolean), max, size);
  const half = Math.max(...lines.map((line) => textWidth(line, size))) / 2 + 2;
  const lead = Math.round(size * 1.2);
  const cx = Math.min(Math.max(x, half), W - half);
  const first = above ? y - lead * (lines.length - 1) : y - (lead * (lines.length - 1)) / 2 + size / 3;
  const top = Math.min(Math.max(first, size + 2), H - 4 - lead * (lines.length - 1));
  const spans = lines.map((line, i) => `<tspan x="${cx.toFixed(1)}" y="${(top + i * lead).toFixed(1)}">${escapeHtml(line)}</tspan>`);
  const tip = raw ? `<title>${escapeHtml(raw)}</title>` : "";
  return `<text class="${cls}"${raw ? ` data-raw="${escapeHtml(raw)}"` : ""}>${tip}${spans.join("")}</text>`;
}

/** A relationship's name as the inspector shows it (the model's displayName, the dictionary or its words). */
function relLabel(n, schema) {
  return label(n.name, n.dir === "out" ? schema : null); // an incoming one is declared by its source's model
}

function edgeSvg(n, schema) {
  const text = relLabel(n, schema);
  const line = `<line x1="${W / 2}" y1="${H / 2}" x2="${n.x}" y2="${n.y}" class="edge ${n.dir}"/>`;
  return line + svgLabel(text.split(" "), (W / 2 + n.x) / 2, (H / 2 + n.y) / 2, { size: EDGE_FONT, max: EDGE_LINE, cls: "edge-label", raw: n.name });
}

function nodeSvg(n, schema) {
  if (n.id === null) {
    const count = `×${formatNumber(n.count, 0)}`;
    const name = relLabel(n, schema);
    const text = svgLabel([...name.split(" "), count], n.x, n.y - 15, { size: NODE_FONT, max: NODE_LINE, above: true, cls: "node-label" });
    return `<g class="node group" tabindex="0" role="button" data-group="${escapeHtml(n.name)}" data-dir="${n.dir}" data-count="${n.count}" aria-label="${escapeHtml(`${name} ${count}`)}"><title>${escapeHtml(n.name)}</title><circle cx="${n.x}" cy="${n.y}" r="11"/>${text}</g>`;
  }
  const short = n.id.length > 24 ? n.id.slice(0, 22) + "…" : n.id;
  const text = svgLabel([short], n.x, n.y - 11, { size: NODE_FONT, max: NODE_LINE, above: true, cls: "node-label" });
  return `<g class="node" tabindex="0" role="button" data-node="${escapeHtml(n.id)}" aria-label="${escapeHtml(n.id)}"><title>${escapeHtml(n.id)}</title><circle cx="${n.x}" cy="${n.y}" r="7"/>${text}</g>`;
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
  shownTwin = twinId;
  el.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const enc = encodeURIComponent(twinId);
    const [out, incoming, centre] = await Promise.all([
      api(`/twins/${enc}/relationships`),
      api(`/twins/${enc}/incomingrelationships`),
      api(`/twins/${enc}`).catch(() => null), // without it the names fall back to the dictionary or their words
    ]);
    const schema = centre ? await schemaOf(centre.$metadata?.$model) : null;
    const edges = groupEdges([
      ...out.value.map((r) => [r.$targetId, r.$relationshipName, "out"]),
      ...incoming.value.map((r) => [r.$sourceId, r.$relationshipName, "in"]),
    ]).slice(0, 24);
    const nodes = edges.map(([id, name, dir, count, ids], i) => {
      const angle = (2 * Math.PI * i) / Math.max(edges.length, 1);
      return { id, name, dir, count, ids, x: W / 2 + 240 * Math.cos(angle), y: H / 2 + 140 * Math.sin(angle) };
    });
    if (shownTwin !== twinId) return; // another twin was asked for while this one loaded
    el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="group" aria-label="${escapeHtml(t("twinGraph"))}: ${escapeHtml(twinId)}">
      ${nodes.map((n) => edgeSvg(n, schema)).join("")}
      <g class="node centre"><circle cx="${W / 2}" cy="${H / 2}" r="9"/>${svgLabel([twinId], W / 2, H / 2 - 14, { size: NODE_FONT, max: W, above: true, cls: "node-label" })}</g>
      ${nodes.map((n) => nodeSvg(n, schema)).join("")}
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
    if (shownTwin !== twinId) return;
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
    const first = shownTwin || series[0]?.[0] || "";
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
