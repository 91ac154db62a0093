// The twin inspector: properties, relationships (clickable), the latest telemetry with quality flags, and a
// history chart with the forecast band, warning-level lines and anomaly markers over a zoomable range.
import { api, escapeHtml } from "./api.js";
import { drawChart } from "./chart.js";
import * as events from "./events.js";
import { formatNumber, formatTime, onLanguage, t } from "./i18n.js";

const QUALITY_KEYS = { 1: "pass", 2: "notEvaluated", 3: "suspect", 4: "fail", 9: "missing" };
const RANGES = [["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800]];
const LEVEL_KEYS = ["standbyLevel", "cautionLevel", "evacuationLevel", "dangerLevel"];

let current = null;
let chosenSeries = null;
let rangeS = 86400;
let onOpen = () => {};

export function qualityLabel(flag) {
  return t(QUALITY_KEYS[flag] || "notEvaluated");
}

function baseSeries(telemetry) {
  return Object.keys(telemetry).filter((n) => !n.includes("~") && !n.endsWith("_forecast") && !n.endsWith("_sim")).sort();
}

function scalar(value) {
  if (value && typeof value === "object") return JSON.stringify(value).slice(0, 120);
  return typeof value === "number" ? formatNumber(value, 3) : String(value);
}

export async function open(twinId) {
  const panel = document.getElementById("inspector");
  const body = document.getElementById("inspector-body");
  document.getElementById("inspector-title").textContent = twinId;
  panel.hidden = false;
  body.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  if (current !== twinId) chosenSeries = null;
  current = twinId;
  onOpen(twinId);
  try {
    const enc = encodeURIComponent(twinId);
    const [twin, out, incoming] = await Promise.all([
      api(`/twins/${enc}`),
      api(`/twins/${enc}/relationships`),
      api(`/twins/${enc}/incomingrelationships`),
    ]);
    if (current !== twinId) return;
    render(twin, out.value || [], incoming.value || []);
  } catch (error) {
    body.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
  panel.focus();
}

function render(twin, out, incoming) {
  const body = document.getElementById("inspector-body");
  const props = Object.entries(twin).filter(([k]) => !k.startsWith("$") && k !== "geometry");
  const telemetry = twin.$telemetry || {};
  const series = baseSeries(telemetry);
  chosenSeries = chosenSeries && series.includes(chosenSeries) ? chosenSeries : series[0] || null;
  const link = (id) => `<button type="button" class="link" data-twin="${escapeHtml(id)}">${escapeHtml(id)}</button>`;
  body.innerHTML = `
    <p class="muted">${t("model")}: <code>${escapeHtml(twin.$metadata?.$model)}</code></p>
    <h3>${t("properties")}</h3>
    <table class="props" id="inspector-props"><tbody>
      ${props.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td data-prop="${escapeHtml(k)}">${escapeHtml(scalar(v))}</td></tr>`).join("") || `<tr><td>${t("none")}</td></tr>`}
    </tbody></table>
    <h3>${t("relationships")}</h3>
    <ul class="rels">${out.map((r) => `<li>${escapeHtml(r.$relationshipName)} → ${link(r.$targetId)}</li>`).join("") || `<li class="muted">${t("none")}</li>`}</ul>
    ${incoming.length ? `<h3>${t("incoming")}</h3><ul class="rels">${incoming.slice(0, 50).map((r) => `<li>${link(r.$sourceId)} (${escapeHtml(r.$relationshipName)})</li>`).join("")}</ul>` : ""}
    <h3>${t("telemetry")}</h3>
    <table class="props" id="inspector-telemetry"><tbody>
      ${Object.entries(telemetry).map(([name, r]) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(scalar(r.value))}</td><td><span class="flag q${r.quality}">${escapeHtml(qualityLabel(r.quality))}</span></td><td class="muted">${escapeHtml(formatTime(r.ts))}</td></tr>`).join("") || `<tr><td>${t("none")}</td></tr>`}
    </tbody></table>
    ${chosenSeries ? `
      <h3>${t("history")}</h3>
      <div class="chart-tools">
        <label for="series-pick" class="sr-only">${t("telemetry")}</label>
        <select id="series-pick">${series.map((s) => `<option${s === chosenSeries ? " selected" : ""}>${escapeHtml(s)}</option>`).join("")}</select>
        <span role="group" aria-label="${t("range")}">${RANGES.map(([label, s]) => `<button type="button" class="range${s === rangeS ? " on" : ""}" data-range="${s}" aria-pressed="${s === rangeS}">${label}</button>`).join("")}</span>
      </div>
      <div id="inspector-chart" class="chart" role="img" aria-label="${escapeHtml(chosenSeries)} ${t("history")}"></div>` : ""}
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
    const series = [{ label: name, ...loaded[0], colour: "#2171b5", width: 2 }];
    loaded.slice(1).forEach((s, i) => {
      const label = wanted[i + 1][0];
      series.push({ label: label.endsWith("_forecast") ? t("forecast") : label.split("~")[1], ...s, colour: "#4e79a7", dash: label.endsWith("_forecast") ? [6, 3] : [2, 2], width: 1 });
    });
    const low = series.findIndex((s) => s.label === "q05");
    const high = series.findIndex((s) => s.label === "q95");
    if (low > 0 && high > 0) series[high].bandWith = low;
    let markers = [];
    if (telemetry.anomalyScore && name !== "anomalyScore") {
      const scores = await history(twin.$dtId, "anomalyScore", from, new Date(lastTs + 1000).toISOString());
      const values = new Map(loaded[0].ts.map((ts, i) => [ts, loaded[0].values[i]]));
      markers = scores.ts.map((ts, i) => [ts, scores.values[i]]).filter(([ts, s]) => s >= 1 && values.has(ts)).map(([ts]) => ({ ts, value: values.get(ts) }));
    }
    const levels = Object.fromEntries(LEVEL_KEYS.filter((k) => typeof twin[k] === "number").map((k) => [k, twin[k]]));
    drawChart(el, { series, levels: name.toLowerCase().includes("level") ? levels : {}, markers });
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
    const cell = [...document.querySelectorAll("#inspector-telemetry th")].find((th) => th.textContent === event.data.name);
    if (cell) cell.nextElementSibling.textContent = scalar(event.data.latest.value);
  });
  onLanguage(() => current && !panel.hidden && open(current));
}

export function close() {
  document.getElementById("inspector").hidden = true;
  current = null;
}

export function currentTwin() {
  return current;
}
