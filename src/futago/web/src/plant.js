// The plant view: each process unit's state (latest telemetry with quality), trends, anomaly score and the
// setpoint recommendations waiting for approval.
import { api, escapeHtml } from "./api.js";
import { drawChart } from "./chart.js";
import * as events from "./events.js";
import { formatNumber, formatTime, onLanguage, t } from "./i18n.js";
import { qualityLabel, titleOf } from "./inspector.js";
import { label, modelName, schemaOf, unitOf } from "./labels.js";

const PLANT = /Pump|Reactor|CSTR|Tank|Compressor|Valve|Boiler|Chiller|Equipment|Plant|Motor/i;
let units = [];
let openTwin = () => {};
const schemas = new Map(); // twin id -> its model's labels and units
const FLAGS = new Set(["anomaly", "running"]); // 0/1 telemetry: in the table, not plotted

function trendNames(twin) {
  return Object.entries(twin.$telemetry || {})
    .filter(([n, r]) => typeof r.value === "number" && !FLAGS.has(n) && !n.includes("~") && !n.endsWith("_sim") && !n.endsWith("_forecast"))
    .map(([n]) => n)
    .slice(0, 4);
}

function valueText(name, value, schema) {
  if (typeof value === "boolean") return value ? "✓" : "—";
  const unit = unitOf(name, schema);
  return `${formatNumber(value, 3)}${unit && typeof value === "number" ? " " + unit : ""}`;
}

function card(twin, proposals) {
  const schema = schemas.get(twin.$dtId);
  const telemetry = Object.entries(twin.$telemetry || {}).filter(([n]) => !n.includes("~") && !n.endsWith("_sim"));
  const score = twin.$telemetry?.anomalyScore?.value;
  const status = typeof score === "number" ? (score >= 1 ? "fail" : score >= 0.8 ? "suspect" : "pass") : "notEvaluated";
  const id = escapeHtml(twin.$dtId);
  return `<article class="unit" data-unit="${id}" aria-labelledby="unit-${id}">
    <h3 id="unit-${id}"><button type="button" class="link" data-twin="${id}">${escapeHtml(titleOf(twin))}</button>
      <span class="flag ${status === "fail" ? "q4" : status === "suspect" ? "q3" : "q1"}">${t("anomalyScore")}: ${formatNumber(score, 2)}</span></h3>
    <p class="muted">${escapeHtml(modelName(schema, twin.$metadata.$model))} · <code>${id}</code></p>
    <table class="props"><tbody>${telemetry.map(([n, r]) => `<tr><th scope="row">${escapeHtml(label(n, schema))}</th><td data-tele="${escapeHtml(n)}">${escapeHtml(valueText(n, r.value, schema))}</td><td><span class="flag q${r.quality}">${escapeHtml(qualityLabel(r.quality))}</span></td></tr>`).join("")}</tbody></table>
    <div class="trends" id="trend-${id}">${trendNames(twin).map((n) => `<div class="chart" data-trend="${escapeHtml(n)}" role="img" aria-label="${escapeHtml(label(n, schema))} ${t("trends")}"></div>`).join("")}</div>
    <h4>${t("recommendations")}</h4>
    ${proposals.length ? proposals.map((c) => `<p class="recommendation">${escapeHtml(c.command)} ${escapeHtml(JSON.stringify(c.payload))} — <span class="state s-${c.state}">${escapeHtml(t(c.state))}</span> (${escapeHtml(c.proposedBy)}, ${escapeHtml(formatTime(c.proposedAt))})</p>`).join("") : `<p class="muted">${t("noRecommendations")}</p>`}
  </article>`;
}

/** One small chart per quantity (a 45 °C temperature and a 0.1 m³/s flow never share an axis). */
async function trend(twin) {
  const schema = schemas.get(twin.$dtId);
  const names = trendNames(twin);
  if (!names.length) return;
  const last = Math.max(...names.map((n) => Date.parse(twin.$telemetry[n].ts)));
  const from = new Date(last - 30 * 60 * 1000).toISOString(); // the last half hour, in 5-second means
  const colours = ["#2171b5", "#f28e2b", "#59a14f", "#d1343a"];
  const loaded = await Promise.all(names.map((name) => api(`/twins/${encodeURIComponent(twin.$dtId)}/telemetry`, { params: { name, from, bucket: "5s", agg: "avg" } })));
  loaded.forEach((body, i) => {
    const el = document.querySelector(`#trend-${CSS.escape(twin.$dtId)} [data-trend="${CSS.escape(names[i])}"]`);
    const points = body.points || [];
    if (!el) return;
    const series = [{ label: label(names[i], schema), ts: points.map((p) => p.ts), values: points.map((p) => p.value ?? p.avg), colour: colours[i] }];
    drawChart(el, { series, height: 130, axis: label(names[i], schema), unit: unitOf(names[i], schema) });
  });
}

async function render() {
  const view = document.getElementById("view-plant");
  try {
    const commands = await api("/commands", { params: { limit: 200 } });
    const twins = await Promise.all(units.map((id) => api(`/twins/${encodeURIComponent(id)}`)));
    await Promise.all(twins.map(async (tw) => schemas.set(tw.$dtId, await schemaOf(tw.$metadata.$model))));
    view.innerHTML = `<h2>${t("plant")}</h2>` + (twins.length
      ? `<div class="units">${twins.map((tw) => card(tw, commands.value.filter((c) => c.twinId === tw.$dtId))).join("")}</div>`
      : `<p class="muted">${t("noPlant")}</p>`);
    for (const button of view.querySelectorAll("[data-twin]")) button.addEventListener("click", () => openTwin(button.dataset.twin));
    await Promise.all(twins.map((tw) => trend(tw).catch((e) => console.warn("trend", e.message))));
  } catch (error) {
    view.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
}

export async function init({ onTwin }) {
  openTwin = onTwin;
  const view = document.getElementById("view-plant");
  view.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const models = await api("/models");
    const plantModels = (models.value || []).map((m) => m.id).filter((id) => PLANT.test(id));
    const lists = await Promise.all(plantModels.map((m) => api("/twins", { params: { model: m, limit: 50 } })));
    units = [...new Set(lists.flatMap((l) => l.value.map((tw) => tw.$dtId)))];
  } catch (error) {
    view.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
    return;
  }
  events.on("telemetry.appended", (event) => {
    const cell = document.querySelector(`[data-unit="${CSS.escape(event.twinId || "")}"] [data-tele="${CSS.escape(event.data.name)}"]`);
    if (cell) cell.textContent = valueText(event.data.name, event.data.latest.value, schemas.get(event.twinId));
  });
  events.on("command", (event) => {
    if (units.includes(event.twinId) && !document.getElementById("view-plant").hidden) render();
  });
  onLanguage(render);
}

export function show() {
  return render();
}
