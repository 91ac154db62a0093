// The plant view: each process unit's state (latest telemetry with quality), trends, anomaly score and the
// setpoint recommendations waiting for approval.
import { api, escapeHtml } from "./api.js";
import { drawChart } from "./chart.js";
import * as events from "./events.js";
import { formatNumber, formatTime, onLanguage, t } from "./i18n.js";
import { qualityLabel } from "./inspector.js";

const PLANT = /Pump|Reactor|CSTR|Tank|Compressor|Valve|Boiler|Chiller|Equipment|Plant|Motor/i;
let units = [];
let openTwin = () => {};

function card(twin, proposals) {
  const telemetry = Object.entries(twin.$telemetry || {}).filter(([n]) => !n.includes("~") && !n.endsWith("_sim"));
  const score = twin.$telemetry?.anomalyScore?.value;
  const status = typeof score === "number" ? (score >= 1 ? "fail" : score >= 0.8 ? "suspect" : "pass") : "notEvaluated";
  return `<article class="unit" data-unit="${escapeHtml(twin.$dtId)}" aria-labelledby="unit-${escapeHtml(twin.$dtId)}">
    <h3 id="unit-${escapeHtml(twin.$dtId)}"><button type="button" class="link" data-twin="${escapeHtml(twin.$dtId)}">${escapeHtml(twin.name || twin.$dtId)}</button>
      <span class="flag ${status === "fail" ? "q4" : status === "suspect" ? "q3" : "q1"}">${t("anomalyScore")}: ${formatNumber(score, 2)}</span></h3>
    <p class="muted"><code>${escapeHtml(twin.$metadata.$model)}</code></p>
    <table class="props"><tbody>${telemetry.map(([n, r]) => `<tr><th scope="row">${escapeHtml(n)}</th><td data-tele="${escapeHtml(n)}">${formatNumber(r.value, 3)}</td><td><span class="flag q${r.quality}">${escapeHtml(qualityLabel(r.quality))}</span></td></tr>`).join("")}</tbody></table>
    <div class="chart" id="trend-${escapeHtml(twin.$dtId)}" role="img" aria-label="${t("trends")}"></div>
    <h4>${t("recommendations")}</h4>
    ${proposals.length ? proposals.map((c) => `<p class="recommendation">${escapeHtml(c.command)} ${escapeHtml(JSON.stringify(c.payload))} — <span class="state s-${c.state}">${escapeHtml(t(c.state))}</span> (${escapeHtml(c.proposedBy)}, ${escapeHtml(formatTime(c.proposedAt))})</p>`).join("") : `<p class="muted">${t("noRecommendations")}</p>`}
  </article>`;
}

async function trend(twin) {
  const el = document.getElementById(`trend-${twin.$dtId}`);
  const names = Object.keys(twin.$telemetry || {}).filter((n) => !n.includes("~") && !n.endsWith("_sim") && !n.endsWith("_forecast")).slice(0, 4);
  if (!el || !names.length) return;
  const last = Math.max(...names.map((n) => Date.parse(twin.$telemetry[n].ts)));
  const from = new Date(last - 30 * 60 * 1000).toISOString(); // the last half hour, in 5-second means
  const colours = ["#2171b5", "#f28e2b", "#59a14f", "#d1343a"];
  const loaded = await Promise.all(names.map((name) => api(`/twins/${encodeURIComponent(twin.$dtId)}/telemetry`, { params: { name, from, bucket: "5s", agg: "avg" } })));
  const series = loaded.map((body, i) => {
    const points = body.points || [];
    return { label: names[i], ts: points.map((p) => p.ts), values: points.map((p) => p.value ?? p.avg), colour: colours[i] };
  });
  drawChart(el, { series, height: 160 });
}

async function render() {
  const view = document.getElementById("view-plant");
  try {
    const commands = await api("/commands", { params: { limit: 200 } });
    const twins = await Promise.all(units.map((id) => api(`/twins/${encodeURIComponent(id)}`)));
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
    if (cell) cell.textContent = formatNumber(event.data.latest.value, 3);
  });
  events.on("command", (event) => {
    if (units.includes(event.twinId) && !document.getElementById("view-plant").hidden) render();
  });
  onLanguage(render);
}

export function show() {
  return render();
}
