// The dashboard's entry point: views as tabs, one SSE stream, the inspector shared by every view.
import "./style.css";
import * as alerts from "./alerts.js";
import * as city from "./city.js";
import * as events from "./events.js";
import { applyTexts, language, setLanguage, t } from "./i18n.js";
import * as inspector from "./inspector.js";
import * as models from "./models.js";
import * as plant from "./plant.js";
import * as scenarios from "./scenarios.js";

const errors = [];

function banner(message) {
  const el = document.getElementById("banner");
  el.textContent = message;
  el.hidden = !message;
  if (message) setTimeout(() => (el.hidden = true), 8000);
}

function showView(name) {
  const panel = name === "alerts" ? "city" : name;
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${panel}`;
  if (panel === "city") city.resize();
  if (name === "alerts") document.getElementById("alerts-panel").scrollIntoView({ block: "nearest" });
  if (name === "plant") plant.show();
  if (name === "models") models.show();
  history.replaceState(null, "", `#${name}`);
}

function tabs() {
  const list = [...document.querySelectorAll("[role=tab]")];
  for (const tab of list) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {
      const i = list.indexOf(tab);
      const next = e.key === "ArrowRight" ? list[(i + 1) % list.length] : e.key === "ArrowLeft" ? list[(i - 1 + list.length) % list.length] : null;
      if (next) {
        next.focus();
        next.click();
      }
    });
  }
}

/** A server that requires authentication answers 401: ask for an API key and start a session (an HttpOnly cookie). */
function signIn() {
  const dialog = document.getElementById("login");
  const form = document.getElementById("login-form");
  dialog.hidden = false;
  document.getElementById("login-key").focus();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = form.key.value.trim();
    const response = await fetch("/auth/session", { method: "POST", headers: { authorization: `Bearer ${key}` } });
    if (response.status === 201) return location.reload();
    const problem = await response.json().catch(() => ({}));
    document.getElementById("login-error").textContent = `${t("signInFailed")}: ${problem.detail || response.status}`;
  });
}

async function signedIn() {
  const response = await fetch("/auth/session", { headers: { accept: "application/json" } });
  if (!response.ok) return null; // 401: not signed in; 403: this key may not use the dashboard
  const who = await response.json();
  const out = document.getElementById("signout");
  out.hidden = who.caller === "local-admin";
  out.addEventListener("click", async () => {
    await fetch("/auth/session", { method: "DELETE" });
    location.reload();
  });
  return who;
}

async function start() {
  applyTexts();
  document.getElementById("lang").addEventListener("click", () => setLanguage(language() === "ja" ? "en" : "ja"));
  if (!(await signedIn())) return signIn();
  document.getElementById("alerts-panel").tabIndex = -1;
  tabs();
  const live = events.connect();
  const openTwin = (id) => inspector.open(id);
  inspector.init({ onOpened: (id) => city.flyTo(id) });
  window.futago = { probe: city.probe, paintOf: city.paintOf, screenPoint: city.screenPoint, buildingState: city.buildingState, renderedBuildings: city.renderedBuildings, flyTo: city.flyTo, openTwin, errors };
  await Promise.all([
    city.init(openTwin),
    alerts.init({ onTwin: openTwin, onError: banner }),
    scenarios.init(),
    plant.init({ onTwin: openTwin }),
    models.init({ onTwin: openTwin, onGroup: (group) => inspector.openGroup(group) }),
  ]);
  live.refresh();
  const wanted = location.hash.slice(1);
  showView(["city", "alerts", "scenarios", "plant", "models"].includes(wanted) ? wanted : "city");
  document.body.dataset.ready = "true";
}

window.addEventListener("unhandledrejection", (e) => {
  errors.push(String(e.reason?.message || e.reason));
  banner(`${t("loadFailed")}: ${e.reason?.message || e.reason}`);
});
start().catch((error) => banner(`${t("loadFailed")}: ${error.message}`));
