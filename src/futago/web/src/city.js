// The city view: extruded buildings coloured by a chosen metric, flood zones, roads and water drawn from the
// twins themselves (no internet base map), and sensors as live markers updated over SSE.
import * as maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { api, escapeHtml } from "./api.js";
import * as events from "./events.js";
import { formatNumber, onLanguage, t } from "./i18n.js";

const FLOOD_ZONE = "dtmi:futago:city:FloodZone;1";
const FEATURES_URL = "/city/features?bbox=-180%2C-90%2C180%2C90&model=*"; // also preloaded by index.html
const ROAD = "dtmi:futago:city:Road;1";
const ALERT_COLOUR = "#e0245e";
const NO_VALUE = "#c8ccd2";
const RAMP = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
const DEPTH_RAMP = ["#fff5b0", "#ffd27a", "#ff9f5a", "#e8594b", "#a3204a"];
const CATEGORIES = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f"];
const QUALITY = { 1: "#2e9e5b", 2: "#4e79a7", 3: "#e3a21a", 4: "#d1343a", 9: "#8a8f98" };

const state = {
  map: null,
  buildings: [],
  numericKeys: new Set(),
  telemetryNames: new Set(),
  telemetryRange: {},
  alertBuildings: new Map(), // alert id -> building ids
  inAlert: new Set(),
  sensors: new Map(), // twin id -> feature
  alertTwins: new Set(),
  metric: "height",
  onPick: () => {},
};

export const probe = {
  firstRenderMs: null,
  featuresMs: null, // the twins' GeoJSON fetched and parsed (the bench's breakdown of the first render)
  markerUpdates: {}, // twin id -> {ts, value, renderedAt}
  buildingCount: 0,
};

function isPolygon(f) {
  return f.geometry && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon");
}

function classify(features) {
  const groups = { buildings: [], zones: [], roads: [], water: [], sensors: [] };
  for (const f of features) {
    const model = f.properties.model || "";
    if (model === FLOOD_ZONE) groups.zones.push(f);
    else if (model === ROAD) groups.roads.push(f);
    else if (/Water|River/.test(model) && isPolygon(f)) groups.water.push(f);
    else if (isPolygon(f)) groups.buildings.push(f);
    else if (f.geometry?.type === "Point") groups.sensors.push(f);
  }
  return groups;
}

function bounds(features) {
  let [w, s, e, n] = [180, 90, -180, -90];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of features) visit(f.geometry.coordinates);
  return w <= e ? [[w, s], [e, n]] : [[138.85, 35.09], [138.89, 35.11]];
}

function collection(features) {
  return { type: "FeatureCollection", features };
}

function numericRange(key) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of state.buildings) {
    const v = f.properties[key];
    if (typeof v === "number" && Number.isFinite(v)) {
      lo = Math.min(lo, v); hi = Math.max(hi, v);
    }
  }
  return lo <= hi ? [lo, hi === lo ? lo + 1 : hi] : [0, 1];
}

function ramp(value, [lo, hi], colours) {
  const stops = colours.flatMap((c, i) => [lo + ((hi - lo) * i) / (colours.length - 1), c]);
  return ["interpolate", ["linear"], value, ...stops];
}

function categories(key) {
  const counts = new Map();
  for (const f of state.buildings) {
    const v = f.properties[key];
    if (v !== null && v !== undefined) counts.set(v, (counts.get(v) || 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, CATEGORIES.length).map(([v]) => v);
}

/** The paint colour of a metric, and the legend that explains it. */
function metricStyle(metric) {
  if (metric === "alert") {
    return { colour: NO_VALUE, legend: [[ALERT_COLOUR, t("inAlert")], [NO_VALUE, t("normal")]] };
  }
  if (metric === "usage") {
    const values = categories("usage");
    const colour = values.length
      ? ["match", ["to-string", ["get", "usage"]], ...values.flatMap((v, i) => [String(v), CATEGORIES[i]]), NO_VALUE]
      : NO_VALUE;
    return { colour, legend: [...values.map((v, i) => [CATEGORIES[i], String(v)]), [NO_VALUE, t("noValue")]] };
  }
  if (metric.startsWith("t:")) {
    const name = metric.slice(2);
    const range = state.telemetryRange[name] || [0, 1];
    const value = ["feature-state", "t_" + name];
    return {
      colour: ["case", ["==", value, null], NO_VALUE, ramp(["to-number", value], range, RAMP)],
      legend: rampLegend(range, RAMP, name),
    };
  }
  const colours = metric === "floodDepth" ? DEPTH_RAMP : RAMP;
  const range = numericRange(metric);
  const value = ["get", metric];
  return {
    colour: ["case", ["!", ["has", metric]], NO_VALUE, ["==", value, null], NO_VALUE, ramp(["to-number", value], range, colours)],
    legend: rampLegend(range, colours, metric === "floodDepth" || metric === "height" ? "m" : ""),
  };
}

function rampLegend([lo, hi], colours, unit) {
  return [
    ...colours.map((c, i) => [c, `${formatNumber(lo + ((hi - lo) * i) / (colours.length - 1), 1)} ${unit}`]),
    [NO_VALUE, t("noValue")],
  ];
}

function applyMetric() {
  const map = state.map;
  if (!map?.getLayer("buildings")) return;
  const { colour, legend } = metricStyle(state.metric);
  map.setPaintProperty("buildings", "fill-extrusion-color", [
    "case", ["boolean", ["feature-state", "alert"], false], ALERT_COLOUR, colour,
  ]);
  const el = document.getElementById("legend");
  el.innerHTML = [...legend, ...(state.metric === "alert" ? [] : [[ALERT_COLOUR, t("inAlert")]])]
    .map(([c, label]) => `<span class="swatch" style="background:${c}"></span>${escapeHtml(label)}`)
    .join("<br>");
}

function fillMetricOptions() {
  const select = document.getElementById("metric");
  const fixed = [["height", t("height")], ["usage", t("usage")], ["floodDepth", t("floodDepth")], ["alert", t("alertState")]];
  const skip = new Set(["height", "floodDepth", "base", "id"]);
  const extra = [...state.numericKeys].filter((k) => !skip.has(k)).sort().map((k) => [k, k]);
  const tele = [...state.telemetryNames].sort().map((n) => ["t:" + n, `${t("telemetry")}: ${n}`]);
  select.innerHTML = [...fixed, ...extra, ...tele]
    .map(([v, label]) => `<option value="${escapeHtml(v)}"${v === state.metric ? " selected" : ""}>${escapeHtml(label)}</option>`)
    .join("");
}

function setAlertState(ids, on) {
  for (const id of ids) {
    if (state.map.getSource("buildings")) state.map.setFeatureState({ source: "buildings", id }, { alert: on });
  }
}

function refreshAlertBuildings() {
  const next = new Set([...state.alertBuildings.values()].flat());
  setAlertState([...state.inAlert].filter((id) => !next.has(id)), false);
  setAlertState([...next].filter((id) => !state.inAlert.has(id)), true);
  state.inAlert = next;
  for (const id of state.sensors.keys()) {
    state.map.setFeatureState({ source: "sensors", id }, { alert: state.alertTwins.has(id) });
  }
}

/** Buildings (and the twin) an open alert concerns turn to the alert colour until it resolves. */
export function showAlert(alert, buildings) {
  if (alert.state === "resolved") {
    state.alertBuildings.delete(alert.id);
    state.alertTwins.delete(alert.twinId);
  } else {
    state.alertBuildings.set(alert.id, buildings);
    state.alertTwins.add(alert.twinId);
  }
  if (state.map) refreshAlertBuildings();
}

export function focusBuildings(ids) {
  const chosen = state.buildings.filter((f) => ids.includes(f.id));
  if (chosen.length && state.map) state.map.fitBounds(bounds(chosen), { padding: 80, maxZoom: 17, duration: 600 });
}

export function flyTo(twinId) {
  const f = state.buildings.find((b) => b.id === twinId) || state.sensors.get(twinId);
  if (f && state.map) state.map.fitBounds(bounds([f]), { padding: 200, maxZoom: 17, duration: 600 });
}

function onTelemetry(event) {
  const twin = event.twinId;
  const name = event.data?.name;
  const latest = event.data?.latest;
  if (!twin || !name || !latest || typeof latest.value !== "number") return;
  if (!name.includes("~") && !name.endsWith("_forecast") && !name.endsWith("_sim")) {
    if (!state.telemetryNames.has(name)) {
      state.telemetryNames.add(name);
      fillMetricOptions();
    }
    const range = state.telemetryRange[name] || [latest.value, latest.value + 1e-9];
    state.telemetryRange[name] = [Math.min(range[0], latest.value), Math.max(range[1], latest.value)];
  }
  const map = state.map;
  if (!map) return;
  if (map.getSource("buildings") && state.buildingIds?.has(twin)) {
    map.setFeatureState({ source: "buildings", id: twin }, { ["t_" + name]: latest.value });
  }
  if (state.sensors.has(twin) && map.getSource("sensors")) {
    map.setFeatureState({ source: "sensors", id: twin }, { quality: latest.quality, value: latest.value, pulse: Date.now() % 2 });
    const record = { name, ts: latest.ts, value: latest.value, renderedAt: null };
    probe.markerUpdates[twin] = record;
    map.once("render", () => {
      record.renderedAt = performance.now();
    });
    map.triggerRepaint();
  }
}

export async function init(onPick) {
  state.onPick = onPick;
  const status = document.getElementById("map-state");
  status.textContent = t("loading");
  maplibregl.setWorkerUrl("/static/maplibre-gl-worker.mjs");
  // The map (its style, its workers) starts while the twins download; the camera moves to them on arrival.
  const map = new maplibregl.Map({
    container: "map",
    style: {
      version: 8,
      sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": "#eceff1" } }],
    },
    center: [139.0, 35.0],
    zoom: 12,
    pitch: 50,
    bearing: -15,
    attributionControl: false,
    maxPitch: 70,
  });
  state.map = map;
  const loaded = new Promise((resolve) => map.once("load", resolve));
  let features;
  try {
    const body = await api(FEATURES_URL);
    features = body.features;
    probe.featuresMs = performance.now();
  } catch (error) {
    status.textContent = `${t("loadFailed")}: ${error.message}`;
    status.classList.add("error");
    return;
  }
  const groups = classify(features);
  state.buildings = groups.buildings;
  state.buildingIds = new Set(groups.buildings.map((f) => f.id));
  probe.buildingCount = groups.buildings.length;
  for (const f of groups.buildings.slice(0, 2000)) {
    for (const [k, v] of Object.entries(f.properties)) if (typeof v === "number") state.numericKeys.add(k);
  }
  for (const f of groups.sensors) state.sensors.set(f.id, f);
  map.fitBounds(bounds(groups.buildings.length ? groups.buildings : features), { padding: 40, animate: false });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-left");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  loaded.then(() => {
    // maxzoom 14: the worker cuts fewer, larger tiles (0.3 m precision), overzoomed when the camera comes closer.
    const source = (id, list) => map.addSource(id, { type: "geojson", data: collection(list), promoteId: "id", maxzoom: 14 });
    source("zones", groups.zones.filter((f) => String(f.properties.scale || "L1").startsWith("L1")));
    source("water", groups.water);
    source("roads", groups.roads);
    source("buildings", groups.buildings);
    source("sensors", groups.sensors);
    map.addLayer({
      id: "zones", type: "fill", source: "zones",
      paint: { "fill-color": ramp(["coalesce", ["get", "floodDepth"], 0], [0, 5], DEPTH_RAMP), "fill-opacity": 0.35 },
    });
    map.addLayer({ id: "water", type: "fill", source: "water", paint: { "fill-color": "#9cc3e6" } });
    map.addLayer({
      id: "roads", type: "line", source: "roads",
      paint: { "line-color": "#ffffff", "line-width": 3 },
    });
    map.addLayer({
      id: "buildings", type: "fill-extrusion", source: "buildings",
      paint: {
        "fill-extrusion-color": NO_VALUE,
        "fill-extrusion-height": ["coalesce", ["get", "height"], 3],
        "fill-extrusion-base": 0,
        "fill-extrusion-opacity": 0.9,
      },
    });
    map.addLayer({
      id: "sensors", type: "circle", source: "sensors",
      paint: {
        "circle-radius": 8,
        "circle-color": [
          "case", ["boolean", ["feature-state", "alert"], false], ALERT_COLOUR,
          ["match", ["coalesce", ["feature-state", "quality"], 2], 1, QUALITY[1], 3, QUALITY[3], 4, QUALITY[4], 9, QUALITY[9], QUALITY[2]],
        ],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": ["case", ["==", ["feature-state", "pulse"], 1], 4, 2],
      },
    });
    fillMetricOptions();
    applyMetric();
    refreshAlertBuildings();
    status.textContent = "";
  });
  const firstFrame = () => {
    if (map.getLayer("buildings") && map.isSourceLoaded("buildings")) {
      probe.firstRenderMs = performance.now();
      map.off("render", firstFrame);
    }
  };
  map.on("render", firstFrame);
  map.on("error", (e) => console.error("map:", e.error?.message || e)); // a broken layer is a bug: say so
  for (const layer of ["buildings", "sensors"]) {
    map.on("click", layer, (e) => {
      const f = e.features?.[0];
      if (f) state.onPick(String(f.id ?? f.properties.id));
    });
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }
  document.getElementById("metric").addEventListener("change", (e) => {
    state.metric = e.target.value;
    applyMetric();
  });
  events.on("telemetry.appended", onTelemetry);
  onLanguage(() => {
    fillMetricOptions();
    applyMetric();
  });
}

/** Where a twin is drawn on the screen (for tests and for keyboard users' focus ring). */
export function screenPoint(twinId) {
  const f = state.buildings.find((b) => b.id === twinId) || state.sensors.get(twinId);
  if (!f || !state.map) return null;
  const [[w, s], [e, n]] = bounds([f]);
  const p = state.map.project([(w + e) / 2, (s + n) / 2]);
  const rect = state.map.getCanvas().getBoundingClientRect();
  return { x: rect.left + p.x, y: rect.top + p.y };
}

export function resize() {
  state.map?.resize();
}

/** A building's live state on the map (alert, telemetry values): what the page shows, for tests. */
export function buildingState(twinId) {
  return state.map?.getSource("buildings") ? state.map.getFeatureState({ source: "buildings", id: twinId }) : null;
}
