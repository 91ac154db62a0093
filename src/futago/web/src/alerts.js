// The live alert list: severity, acknowledge, and approve or reject of the commands each alert proposed,
// with the evidence behind them and the audit trail afterwards. Affected buildings light up on the map.
import { api, escapeHtml } from "./api.js";
import * as city from "./city.js";
import * as events from "./events.js";
import { formatNumber, formatTime, onLanguage, pick, t } from "./i18n.js";

const alerts = new Map(); // id -> alert
const commands = new Map(); // id -> command
const decided = new Set(); // commands this operator approved or rejected in this page
let openTwin = () => {};
let flash = () => {};

function severityRank(a) {
  return { critical: 0, warning: 1, info: 2 }[a.severity] ?? 3;
}

function evidenceText(evidence) {
  if (!evidence) return "";
  const parts = (evidence.conditions || []).map(
    (c) => `${c.kind} ${c.telemetry ?? ""}${c.stage ? " " + c.stage : ""} = ${formatNumber(c.value, 3)}${c.holds ? " ✓" : ""}`,
  );
  const trigger = evidence.trigger ? `${evidence.trigger.telemetry} ${formatNumber(evidence.trigger.value, 3)} @ ${formatTime(evidence.trigger.ts)}` : "";
  return [trigger, ...parts].filter(Boolean).join("; ");
}

function commandHtml(c, alert) {
  // Approve only while the alert behind the proposal holds: once it resolves the server withdraws the proposal.
  const actions = c.state === "proposed" && alert?.state !== "resolved"
    ? `<button type="button" class="approve" data-approve="${c.id}">${t("approve")}</button>
       <button type="button" class="reject" data-reject="${c.id}">${t("reject")}</button>`
    : "";
  const audit = (c.history || []).map((h) => `<li>${escapeHtml(formatTime(h.at))} — ${escapeHtml(t(h.state))}${h.by ? ` (${escapeHtml(h.by)})` : ""}${h.reason ? `: ${escapeHtml(h.reason)}` : ""}</li>`).join("");
  return `<div class="command" data-command="${c.id}" data-state="${c.state}">
    <p><strong>${t("command")}:</strong> <code>${escapeHtml(c.command)}</code> → <button type="button" class="link" data-twin="${escapeHtml(c.twinId)}">${escapeHtml(c.twinId)}</button>
      <span class="state s-${c.state}" data-role="command-state">${escapeHtml(t(c.state))}</span></p>
    <p class="muted">${t("proposedBy")}: ${escapeHtml(c.proposedBy)}${c.payload !== null && c.payload !== undefined ? ` · payload ${escapeHtml(JSON.stringify(c.payload))}` : ""}</p>
    ${(c.reasons || []).length ? `<p class="error">${c.reasons.map((r) => escapeHtml(typeof r === "string" ? r : r.detail || JSON.stringify(r))).join("; ")}</p>` : ""}
    <div class="actions">${actions}</div>
    <details class="audit"${c.state !== "proposed" ? " open" : ""}><summary>${t("audit")}</summary><ol>${audit}</ol></details>
  </div>`;
}

function alertHtml(a) {
  const own = [...commands.values()].filter((c) => c.alertId === a.id);
  const impact = a._impact ? `<p class="impact">${a._impact.buildings.length} ${t("buildingsAffected")} · ${a._impact.residents} ${t("residents")}</p>` : "";
  return `<li class="alert sev-${a.severity} st-${a.state}" data-alert="${a.id}" data-rule="${escapeHtml(a.rule)}">
    <div class="alert-head">
      <span class="badge sev-${a.severity}">${escapeHtml(t(a.severity))}</span>
      <span class="state s-${a.state}" data-role="alert-state">${escapeHtml(t(a.state))}</span>
      <time>${escapeHtml(formatTime(a.raisedAt))}</time>
    </div>
    <p class="message">${escapeHtml(pick(a.message))}</p>
    <p class="muted">${escapeHtml(a.rule)} · <button type="button" class="link" data-twin="${escapeHtml(a.twinId)}">${escapeHtml(a.twinId)}</button></p>
    ${impact}
    <details><summary>${t("evidence")}</summary><p class="evidence">${escapeHtml(evidenceText(a.evidence))}</p></details>
    ${a.state === "raised" ? `<button type="button" data-ack="${a.id}">${t("acknowledge")}</button>` : ""}
    ${own.map((c) => commandHtml(c, a)).join("")}
  </li>`;
}

function render() {
  const list = document.getElementById("alert-list");
  const showResolved = document.getElementById("show-resolved").checked;
  // A resolved alert stays in view while a command it proposed waits for a decision, or once this operator has
  // decided one (so that its outcome and audit are seen, not whisked away).
  const waiting = new Set(
    [...commands.values()].filter((c) => c.state === "proposed" || decided.has(c.id)).map((c) => c.alertId),
  );
  const shown = [...alerts.values()]
    .filter((a) => showResolved || a.state !== "resolved" || waiting.has(a.id))
    .sort((a, b) => (a.state === "resolved") - (b.state === "resolved") || severityRank(a) - severityRank(b) || (b.raisedAt > a.raisedAt ? 1 : -1))
    .slice(0, 100);
  list.innerHTML = shown.map(alertHtml).join("") || `<li class="muted">${t("noAlerts")}</li>`;
}

async function act(path, body) {
  try {
    const result = await api(path, { method: "POST", body });
    if (result?.id && result.command) commands.set(result.id, result);
    if (result?.id && result.rule) alerts.set(result.id, { ...alerts.get(result.id), ...result });
    render();
  } catch (error) {
    flash(`${error.message}`);
  }
}

/** Whom an open alert with an area concerns (``GET /alerts/{id}/impact``), asked once per alert. */
async function impactOf(alert) {
  if (alert._impact !== undefined || alert.state === "resolved" || !Object.keys(alert.area || {}).length) {
    return alert._impact ?? null;
  }
  try {
    return await api(`/alerts/${encodeURIComponent(alert.id)}/impact`);
  } catch (error) {
    console.warn("no impact for alert", alert.id, error.message);
    return null;
  }
}

function decide(commandId, verb, body) {
  decided.add(commandId);
  return act(`/commands/${commandId}/${verb}`, body);
}

async function remember(alert, quiet = false) {
  const merged = { ...alerts.get(alert.id), ...alert };
  alerts.set(alert.id, merged);
  if (!quiet) render(); // at once; the map and the impact follow when the request comes back
  merged._impact = await impactOf(merged);
  city.showAlert(merged, merged._impact?.buildings || []);
  render();
}

async function reloadCommand(id) {
  try {
    commands.set(id, await api(`/commands/${encodeURIComponent(id)}`));
    render();
  } catch (error) {
    console.warn("command", id, error.message);
  }
}

export async function init({ onTwin, onError }) {
  openTwin = onTwin;
  flash = onError;
  const list = document.getElementById("alert-list");
  list.innerHTML = `<li class="muted" role="status">${t("loading")}</li>`;
  list.addEventListener("click", (e) => {
    const el = e.target.closest("button");
    if (!el) {
      const item = e.target.closest("[data-alert]");
      const alert = item && alerts.get(item.dataset.alert);
      if (alert?._impact?.buildings?.length) city.focusBuildings(alert._impact.buildings);
      return;
    }
    if (el.dataset.twin) openTwin(el.dataset.twin);
    else if (el.dataset.ack) act(`/alerts/${el.dataset.ack}/acknowledge`, { note: "dashboard" });
    else if (el.dataset.approve) decide(el.dataset.approve, "approve", { note: t("approvedNote") });
    else if (el.dataset.reject) decide(el.dataset.reject, "reject", { reason: t("rejectedNote") });
  });
  document.getElementById("show-resolved").addEventListener("change", render);
  try {
    const [open, recent, proposed] = await Promise.all([
      api("/alerts", { params: { state: "raised", limit: 200 } }),
      api("/alerts", { params: { limit: 100 } }),
      api("/commands", { params: { limit: 200 } }),
    ]);
    for (const c of proposed.value) commands.set(c.id, c);
    const acknowledged = await api("/alerts", { params: { state: "acknowledged", limit: 200 } });
    const found = new Map([...recent.value, ...open.value, ...acknowledged.value].map((a) => [a.id, a]));
    // The alerts behind proposals still waiting for a decision, however old.
    const waiting = [...commands.values()].filter((c) => c.state === "proposed" && c.alertId && !found.has(c.alertId));
    for (const a of await Promise.all(waiting.map((c) => api(`/alerts/${encodeURIComponent(c.alertId)}`)))) {
      found.set(a.id, a);
    }
    await Promise.all([...found.values()].map((a) => remember(a, true)));
    render();
  } catch (error) {
    list.innerHTML = `<li class="error" role="alert">${t("loadFailed")}: ${escapeHtml(error.message)}</li>`;
  }
  events.on("alert", (event) => remember(event.data.alert || event.data));
  events.on("command", (event) => {
    const id = event.data?.command?.id || event.data?.id;
    if (id) reloadCommand(id);
  });
  onLanguage(render);
}
