// What-if: run a forecasting behaviour on changed inputs (rainfall ×1.5 …) and compare the predicted
// affected buildings and residents with the baseline. Nothing is written to live state.
import { api, escapeHtml } from "./api.js";
import * as city from "./city.js";
import { formatNumber, formatTime, onLanguage, t } from "./i18n.js";

let behaviours = [];
let last = null;

function summaryRow(label, result) {
  const s = result.summary || {};
  const impact = result.impact || {};
  const p = impact.probability ?? s.exceedance?.danger;
  return `<tr><th scope="row">${escapeHtml(label)}</th>
    <td data-col="peak">${formatNumber(s.peak, 2)}</td>
    <td data-col="probability">${formatNumber(p, 2)}</td>
    <td data-col="buildings">${impact.buildingCount ?? "–"}</td>
    <td data-col="residents">${impact.residents ?? "–"}</td></tr>`;
}

function renderResult() {
  const out = document.getElementById("scenario-result");
  if (!last) return;
  out.innerHTML = `<p class="muted">${escapeHtml(last.behaviour)} · ${escapeHtml(last.twinId)} · ${escapeHtml(formatTime(last.at))}</p>
    <table class="compare" id="scenario-table"><thead><tr><th></th><th>${t("peakLevel")} (m)</th><th>${t("probability")}</th>
      <th>${t("buildingsAffected")}</th><th>${t("residents")}</th></tr></thead>
    <tbody>${summaryRow(t("baseline"), last.baseline)}${last.scenarios.map((s) => summaryRow(s.name, s)).join("")}</tbody></table>
    <p><button type="button" id="scenario-show">${t("buildingsAffected")} →  ${t("city")}</button></p>`;
  document.getElementById("scenario-show").addEventListener("click", () => {
    const ids = last.scenarios[0]?.impact?.buildings || [];
    document.querySelector('[data-view="city"]').click();
    city.focusBuildings(ids);
  });
}

async function run(event) {
  event.preventDefault();
  const form = event.target;
  const out = document.getElementById("scenario-result");
  const [behaviour, twin] = form.target.value.split("|");
  const scale = Number(form.scale.value);
  out.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const latest = await api(`/twins/${encodeURIComponent(twin)}`);
    const lastTs = Object.values(latest.$telemetry || {}).map((r) => r.ts).filter((x) => !x.includes("~")).sort()[0];
    const measured = latest.$telemetry?.waterLevel?.ts || lastTs;
    last = await api(`/behaviours/${encodeURIComponent(behaviour)}/scenarios`, {
      method: "POST",
      body: {
        twin,
        at: measured,
        scenarios: [{ name: `${t("rainScale")}${scale}`, inputs: { rainfall: { scale } } }],
        impact: {},
      },
    });
    renderResult();
  } catch (error) {
    const pointer = error.problem?.errors?.[0]?.pointer || error.problem?.pointer;
    out.innerHTML = `<p class="error" role="alert">${escapeHtml(error.message)}${pointer ? ` (${escapeHtml(pointer)})` : ""}</p>`;
  }
}

function render() {
  const view = document.getElementById("view-scenarios");
  const options = behaviours.flatMap((b) => (b.twins || []).map((twin) => [`${b.name}|${twin}`, `${b.name} — ${twin}`]));
  view.innerHTML = `<h2>${t("scenarios")}</h2><p>${t("scenarioHelp")}</p>
    ${options.length ? `<form id="scenario-form" class="form-row">
      <label>${t("behaviour")} / ${t("twin")} <select name="target" id="scenario-target">${options.map(([v, l]) => `<option value="${escapeHtml(v)}">${escapeHtml(l)}</option>`).join("")}</select></label>
      <label>${t("rainScale")} <input name="scale" id="scenario-scale" type="number" min="0" max="10" step="0.1" value="1.5"></label>
      <button type="submit" id="scenario-run">${t("run")}</button></form>` : `<p class="muted">${t("noScenarioBehaviours")}</p>`}
    <div id="scenario-result" aria-live="polite"></div>`;
  view.querySelector("#scenario-form")?.addEventListener("submit", run);
  renderResult();
}

export async function init() {
  const view = document.getElementById("view-scenarios");
  view.innerHTML = `<p class="muted" role="status">${t("loading")}</p>`;
  try {
    const listed = await api("/behaviours");
    behaviours = (listed.value || []).filter((b) => b.model === "river_stage");
    // Stations with a flood-zone relationship first: they are the ones with an impact to show.
    behaviours.sort((a, b) => (a.name === "flood-forecast" ? -1 : b.name === "flood-forecast" ? 1 : 0));
    render();
  } catch (error) {
    view.innerHTML = `<p class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</p>`;
  }
  onLanguage(render);
}
