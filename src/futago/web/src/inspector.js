// The twin inspector: properties, relationships (clickable), the latest telemetry with quality flags, and a
// history chart with the forecast band, warning-level lines and anomaly markers over a zoomable range.
import { api, escapeHtml } from "./api.js";
import { drawChart } from "./chart.js";
import * as events from "./events.js";
import { formatNumber, formatTime, language, onLanguage, t } from "./i18n.js";
import { kindName, label, modelName, schemaOf, text, unitOf, unitSymbol } from "./labels.js";

const QUALITY_KEYS = { 1: "pass", 2: "notEvaluated", 3: "suspect", 4: "fail", 9: "missing" };
const RANGES = [["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800]];
const LEVEL_KEYS = ["standbyLevel", "cautionLevel", "evacuationLevel", "dangerLevel"];

let current = null;
let currentGroup = null; // the graph group whose twins the panel lists, when it lists one
let chosenSeries = null;
let rangeS = 86400;
let onOpen = () => {};
let schema = null; // the open twin's model: labels and units

export function qualityLabel(flag) {
  return t(QUALITY_KEYS[flag] || "notEvaluated");
}

function baseSeries(telemetry) {
  return Object.keys(telemetry).filter((n) => !n.includes("~") && !n.endsWith("_forecast") && !n.endsWith("_sim")).sort();
}

const SUMMARY_ONLY = new Set(["surfaces"]); // geometry-sized arrays: a count, not their coordinates
const NAME_KEYS = ["name", "address"];
const PLAIN_ARRAY_MAX = 12;

function withUnit(value, unit, digits = 3) {
  const shown = typeof value === "number" ? formatNumber(value, digits) : String(value ?? "");
  return unit && shown !== "" ? `${shown} ${unit}` : shown;
}

function scalar(value, unit = "") {
  if (typeof value === "boolean") return value ? "✓" : "—";
  if (value && typeof value === "object") return JSON.stringify(value).slice(0, 120);
  return withUnit(value, unit);
}

/** The names a person knows a twin by (gml:name, address, usage), before its id. */
export function titleOf(twin) {
  for (const key of NAME_KEYS) {
    const value = twin[key] ?? twin.attributes?.[key];
    if (typeof value === "string" && value.trim()) return value.trim();
  }
  return typeof twin.usage === "string" && twin.usage ? twin.usage : twin.$dtId;
}

function cellTable(columns, rows, kind) {
  const head = columns.map(([, name]) => `<th scope="col">${escapeHtml(name)}</th>`).join("");
  const body = rows.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`).join("");
  return `<table class="sub" data-table="${kind}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function mapTable(value, schema, kind) {
  const rows = Object.entries(value).map(([k, v]) => `<tr><th scope="row">${escapeHtml(label(k, schema))}</th><td>${escapeHtml(scalar(v, unitOf(k)))}</td></tr>`);
  return `<table class="sub kv" data-table="${kind}"><tbody>${rows.join("")}</tbody></table>`;
}

/** One small key/value table per hazard (a risk has too many fields for columns in a 460 px panel). */
function riskTable(risks, schema) {
  return risks.map((r) => {
    const named = { ...r, kind: kindName(r.kind) };
    return mapTable(named, schema, "risks");
  }).join("");
}

function genericTable(entries) {
  const columns = [["name", label("name")], ["value", label("value")], ["set", label("set")]];
  const rows = entries.map((a) => [a.name ?? "", withUnit(typeof a.number === "number" ? a.number : a.value, unitSymbol(a.unit)), a.set ?? ""]);
  return cellTable(columns, rows, "genericAttributes");
}

function recordsHtml(name, value, schema) {
  const flat = !SUMMARY_ONLY.has(name) && value.every((v) => v && typeof v === "object" && Object.values(v).every((x) => typeof x !== "object"));
  if (!flat) return escapeHtml(`${formatNumber(value.length, 0)} ${text("count")}`);
  const keys = [...new Set(value.flatMap(Object.keys))];
  return cellTable(keys.map((k) => [k, label(k, schema)]), value.map((v) => keys.map((k) => scalar(v[k] ?? "", unitOf(k)))), name);
}

/** A property's value as a cell: numbers with their unit, maps and lists of records as tables. */
function valueHtml(name, value, schema) {
  if (name === "genericAttributes" && Array.isArray(value)) return genericTable(value);
  if (name === "risks" && Array.isArray(value)) return riskTable(value, schema);
  if (Array.isArray(value)) {
    if (SUMMARY_ONLY.has(name) || value.some((v) => v && typeof v === "object")) return recordsHtml(name, value, schema);
    const shown = value.slice(0, PLAIN_ARRAY_MAX).map((v) => scalar(v)).join(", ");
    return escapeHtml(value.length > PLAIN_ARRAY_MAX ? `${shown} … (${value.length})` : shown);
  }
  if (value && typeof value === "object") return mapTable(value, schema, name);
  return escapeHtml(scalar(value, unitOf(name, schema)));
}

function propertyRows(twin, schema) {
  const props = Object.entries(twin).filter(([k]) => !k.startsWith("$") && k !== "geometry");
  if (!props.length) return `<tr><td>${t("none")}</td></tr>`;
  return props.map(([k, v]) => {
    const wide = v && typeof v === "object" && !(Array.isArray(v) && v.every((x) => typeof x !== "object"));
    const head = `<th scope="row"${wide ? ' colspan="2" class="wide"' : ""}>${escapeHtml(label(k, schema))}</th>`;
    const cell = `<td data-prop="${escapeHtml(k)}"${typeof v === "number" ? ` data-value="${v}"` : ""}>${valueHtml(k, v, schema)}</td>`;
    return wide ? `<tr>${head}</tr><tr><td colspan="2" class="nested" data-prop="${escapeHtml(k)}">${valueHtml(k, v, schema)}</td></tr>` : `<tr>${head}${cell}</tr>`;
  }).join("");
}

function link(id) {
  return `<button type="button" class="link" data-twin="${escapeHtml(id)}">${escapeHtml(id)}</button>`;
}

/** Relationships grouped by name: a few are listed, many fold into one line with their count. */
function relationshipList(list, idOf, schema, kind) {
  const groups = new Map();
  for (const r of list) groups.set(r.$relationshipName, [...(groups.get(r.$relationshipName) || []), idOf(r)]);
  if (!groups.size) return `<ul class="rels"><li class="muted">${t("none")}</li></ul>`;
  const items = [...groups].map(([name, ids]) => {
    const title = `${escapeHtml(label(name, schema))} <span class="count">(${formatNumber(ids.length, 0)})</span>`;
    const links = ids.slice(0, 50).map((id) => `<li>${link(id)}</li>`).join("") + (ids.length > 50 ? `<li class="muted">… ${formatNumber(ids.length - 50, 0)} ${text("more")}</li>` : "");
    return `<li data-rel="${escapeHtml(name)}" data-count="${ids.length}"><details${ids.length <= 3 ? " open" : ""}><summary>${title}</summary><ul>${links}</ul></details></li>`;
  });
  return `<ul class="rels" data-rels="${kind}">${items.join("")}</ul>`;
}

export async function open(twinId) {
  const panel = document.getElementById("inspector");
  const body = document.getElementById("inspector-body");
  document.getElementById("inspector-title").textContent = twinId;
  document.getElementById("inspector-id").textContent = "";
  panel.hidden = false;
  body.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  if (current !== twinId) chosenSeries = null;
  current = twinId;
  currentGroup = null;
  onOpen(twinId);
  try {
    const enc = encodeURIComponent(twinId);
    const [twin, out, incoming] = await Promise.all([
      api(`/twins/${enc}`),
      api(`/twins/${enc}/relationships`),
      api(`/twins/${enc}/incomingrelationships`),
    ]);
    const loaded = await schemaOf(twin.$metadata?.$model);
    if (current !== twinId) return;
    schema = loaded;
    render(twin, out.value || [], incoming.value || []);
  } catch (error) {
    body.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
  panel.focus();
}

function telemetryRows(telemetry) {
  const rows = Object.entries(telemetry).map(([name, r]) => `<tr data-tele="${escapeHtml(name)}"><th scope="row">${escapeHtml(label(name, schema))}</th>
    <td data-value="${escapeHtml(r.value)}">${escapeHtml(scalar(r.value, unitOf(name, schema)))}</td>
    <td><span class="flag q${r.quality}">${escapeHtml(qualityLabel(r.quality))}</span></td><td class="muted when">${escapeHtml(formatTime(r.ts))}</td></tr>`);
  return rows.join("") || `<tr><td>${t("none")}</td></tr>`;
}

function render(twin, out, incoming) {
  const body = document.getElementById("inspector-body");
  const telemetry = twin.$telemetry || {};
  const series = baseSeries(telemetry);
  chosenSeries = chosenSeries && series.includes(chosenSeries) ? chosenSeries : series[0] || null;
  document.getElementById("inspector-title").textContent = titleOf(twin);
  document.getElementById("inspector-id").textContent = `${modelName(schema, twin.$metadata?.$model)} · ${twin.$dtId}`;
  body.innerHTML = `
    <p class="muted">${t("model")}: <code>${escapeHtml(twin.$metadata?.$model)}</code></p>
    <h3>${t("properties")}</h3>
    <table class="props" id="inspector-props"><tbody>${propertyRows(twin, schema)}</tbody></table>
    <h3>${t("relationships")}</h3>
    ${relationshipList(out, (r) => r.$targetId, schema, "out")}
    ${incoming.length ? `<h3>${t("incoming")}</h3>${relationshipList(incoming, (r) => r.$sourceId, null, "in")}` : ""}
    <h3>${t("telemetry")}</h3>
    <table class="props" id="inspector-telemetry"><tbody>${telemetryRows(telemetry)}</tbody></table>
    ${chosenSeries ? `
      <h3>${t("history")}</h3>
      <div class="chart-tools">
        <label for="series-pick" class="sr-only">${t("telemetry")}</label>
        <select id="series-pick">${series.map((s) => `<option value="${escapeHtml(s)}"${s === chosenSeries ? " selected" : ""}>${escapeHtml(label(s, schema))}</option>`).join("")}</select>
        <span role="group" aria-label="${t("range")}">${RANGES.map(([name, s]) => `<button type="button" class="range${s === rangeS ? " on" : ""}" data-range="${s}" aria-pressed="${s === rangeS}">${name}</button>`).join("")}</span>
      </div>
      <div id="inspector-chart" class="chart" role="img" aria-label="${escapeHtml(label(chosenSeries, schema))} ${t("history")}"></div>` : ""}
  `;
  for (const button of body.querySelectorAll("[data-twin]")) button.addEventListener("click", () => open(button.dataset.twin));
  body.querySelector("#series-pick")?.addEventListener("change", (e) => {
    chosenSeries = e.target.value;
    chart(twin);
  });
  for (const button of body.querySelectorAll("[data-range]")) {
    button.addEventListener("click", () => {
      rangeS = Number(button.dataset.range);
      render(twin, out, incoming);
    });
  }
  if (chosenSeries) chart(twin);
}

async function history(twinId, name, from, to) {
  const body = await api(`/twins/${encodeURIComponent(twinId)}/telemetry`, { params: { name, from, to, limit: 20000 } });
  return { ts: body.points.map((p) => p.ts), values: body.points.map((p) => p.value) };
}

async function chart(twin) {
  const el = document.getElementById("inspector-chart");
  if (!el) return;
  const name = chosenSeries;
  const telemetry = twin.$telemetry || {};
  const lastTs = Date.parse(telemetry[name]?.ts || new Date().toISOString());
  const from = new Date(lastTs - rangeS * 1000).toISOString();
  const ahead = new Date(lastTs + Math.min(rangeS, 6 * 3600) * 1000).toISOString();
  el.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const wanted = [[name, from, new Date(lastTs + 1000).toISOString()]];
    const forecast = telemetry[`${name}_forecast`] ? [`${name}_forecast`, `${name}_forecast~q05`, `${name}_forecast~q95`] : [];
    for (const f of forecast) if (telemetry[f]) wanted.push([f, new Date(lastTs - 1).toISOString(), ahead]);
    const loaded = await Promise.all(wanted.map(([n, a, b]) => history(twin.$dtId, n, a, b)));
    const series = [{ label: label(name, schema), ...loaded[0], colour: "#2171b5", width: 2 }];
    loaded.slice(1).forEach((s, i) => {
      const key = wanted[i + 1][0];
      const forecast = key.endsWith("_forecast");
      series.push({ key, label: label(forecast ? "forecast" : key.split("~")[1]), ...s, colour: "#4e79a7", dash: forecast ? [6, 3] : [2, 2], width: 1 });
    });
    const low = series.findIndex((s) => s.key?.endsWith("~q05"));
    const high = series.findIndex((s) => s.key?.endsWith("~q95"));
    if (low > 0 && high > 0) series[high].bandWith = low;
    let markers = [];
    if (telemetry.anomalyScore && name !== "anomalyScore") {
      const scores = await history(twin.$dtId, "anomalyScore", from, new Date(lastTs + 1000).toISOString());
      const values = new Map(loaded[0].ts.map((ts, i) => [ts, loaded[0].values[i]]));
      markers = scores.ts.map((ts, i) => [ts, scores.values[i]]).filter(([ts, s]) => s >= 1 && values.has(ts)).map(([ts]) => ({ ts, value: values.get(ts) }));
    }
    const levels = LEVEL_KEYS.filter((k) => typeof twin[k] === "number").map((k) => ({ key: k, label: label(k, schema), value: twin[k] }));
    const unit = unitOf(name, schema);
    drawChart(el, { series, levels: name.toLowerCase().includes("level") ? levels : [], markers, axis: label(name, schema), unit });
  } catch (error) {
    el.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
}

export function init({ onOpened }) {
  onOpen = onOpened || onOpen;
  const panel = document.getElementById("inspector");
  document.getElementById("inspector-close").addEventListener("click", close);
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });
  events.on("telemetry.appended", (event) => {
    if (event.twinId !== current || panel.hidden) return;
    const cell = document.querySelector(`#inspector-telemetry [data-tele="${CSS.escape(event.data.name)}"] td`);
    if (cell) cell.textContent = scalar(event.data.latest.value, unitOf(event.data.name, schema));
  });
  onLanguage(() => {
    if (panel.hidden) return;
    if (current) open(current);
    else if (currentGroup) openGroup(currentGroup);
  });
}

export function close() {
  document.getElementById("inspector").hidden = true;
  current = null;
  currentGroup = null;
}

export function currentTwin() {
  return current;
}

// --- A graph group: the twins behind one node with a count ----------------------------------------------------

const NAME_BATCH = 200; // ids per name query: well under the query's length and page limits
const GROUP_SHOWN = 500; // a longer group lists its first twins and says how many more there are

/** [id, title, detail] for each id, in one query per batch of ids; a twin the query cannot name keeps its id.
 * The detail tells apart twins of one name (a river's flood zones share it; their depth rank does not). */
async function namesOf(ids) {
  const batches = [];
  for (let i = 0; i < ids.length; i += NAME_BATCH) batches.push(ids.slice(i, i + NAME_BATCH));
  const answers = await Promise.all(batches.map((batch) => {
    const query = `SELECT T.$dtId, T.name, T.address, T.usage, T.rank FROM DIGITALTWINS T WHERE T.$dtId IN ${JSON.stringify(batch)}`;
    return api("/query", { method: "POST", body: { query } });
  }));
  const rows = new Map(answers.flatMap((a) => a.value || []).map((row) => [row.$dtId, row]));
  return ids.map((id) => {
    const row = rows.get(id);
    return row ? [id, titleOf(row), typeof row.rank === "string" ? row.rank : ""] : [id, id, ""];
  });
}

function groupItem([id, title, detail]) {
  const under = [detail, title === id ? "" : id].filter(Boolean).join(" · ");
  const ref = under ? ` <span class="twin-ref">${escapeHtml(under)}</span>` : "";
  return `<li><button type="button" class="link" data-twin="${escapeHtml(id)}"><span class="twin-name">${escapeHtml(title)}</span>${ref}</button></li>`;
}

function renderGroup({ twinId, name, dir, ids }, centre, relSchema, rows, failed) {
  const body = document.getElementById("inspector-body");
  const count = formatNumber(ids.length, 0);
  document.getElementById("inspector-title").textContent = `${label(name, relSchema)} (${count})`;
  const centreTitle = titleOf(centre);
  document.getElementById("inspector-id").textContent = centreTitle === twinId ? twinId : `${centreTitle} · ${twinId}`;
  const rest = ids.length - rows.length;
  body.innerHTML = `
    <p class="muted">${escapeHtml(t(dir === "out" ? "groupOut" : "groupIn").replace("{twin}", centreTitle))}</p>
    ${failed ? `<p class="error" role="alert">${t("namesFailed")}: ${escapeHtml(failed.message)}</p>` : ""}
    <ol class="group-list" id="group-list" data-group="${escapeHtml(name)}" data-dir="${escapeHtml(dir)}" data-count="${ids.length}">
      ${rows.map(groupItem).join("")}${rest > 0 ? `<li class="muted">… ${formatNumber(rest, 0)} ${text("more")}</li>` : ""}
    </ol>`;
  for (const button of body.querySelectorAll("[data-twin]")) button.addEventListener("click", () => open(button.dataset.twin));
}

/** The twins a group node of the graph stands for ({twinId, name, dir, ids}), named and sorted by name then id. */
export async function openGroup(group) {
  const panel = document.getElementById("inspector");
  const { twinId, name, ids } = group;
  current = null;
  currentGroup = group;
  panel.hidden = false;
  document.getElementById("inspector-title").textContent = `${name} (${formatNumber(ids.length, 0)})`;
  document.getElementById("inspector-id").textContent = twinId;
  document.getElementById("inspector-body").innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const centre = await api(`/twins/${encodeURIComponent(twinId)}`);
    // An outgoing relationship is declared by the centre's model; an incoming one by each source's own.
    const relSchema = group.dir === "out" ? await schemaOf(centre.$metadata?.$model) : null;
    const shown = ids.slice(0, GROUP_SHOWN);
    let rows = shown.map((id) => [id, id, ""]);
    let failed = null;
    try {
      rows = await namesOf(shown);
    } catch (error) {
      failed = error; // the list still opens, by id, and says why it has no names
    }
    if (currentGroup !== group) return;
    const collator = new Intl.Collator(language(), { numeric: true });
    // Names and ranks compare as people read them ("棟2" before "棟10"); ids, often hex, compare as text.
    rows.sort((a, b) => collator.compare(a[1], b[1]) || collator.compare(a[2], b[2]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    renderGroup(group, centre, relSchema, rows, failed);
  } catch (error) {
    if (currentGroup !== group) return;
    document.getElementById("inspector-body").innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
  panel.focus();
}
