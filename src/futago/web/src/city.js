// The city view: extruded buildings coloured by a chosen metric, flood zones, roads and water drawn from the
// twins themselves (no internet base map), and sensors as live markers updated over SSE.
import * as maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { api, escapeHtml } from "./api.js";
import * as events from "./events.js";
import { formatNumber, onLanguage, t } from "./i18n.js";

const FLOOD_ZONE = "dtmi:futago:city:FloodZone;1";
const BUILDING = "dtmi:futago:city:AbstractBuilding;1";
// Buildings come as vector tiles (a city of any size); everything else the map draws is small enough for one
// GeoJSON. Both URLs are also preloaded by index.html.
const TILEJSON_URL = "/city/tiles.json";
const CONFIG_URL = "/dashboard/config"; // remote base tiles, only when configured
const FEATURES_URL = `/city/features?bbox=-180%2C-90%2C180%2C90&model=*&exclude=${encodeURIComponent(BUILDING)}`;
const BUILDINGS = { source: "city", sourceLayer: "buildings" };
const STRUCTURES = { source: "structures" }; // footprints of twins outside the city models (a demo's, a plant's)
const ROAD = "dtmi:futago:city:Road;1";
const ALERT_COLOUR = "#e0245e";
const NO_VALUE = "#c8ccd2";
const RAMP = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
const DEPTH_RAMP = ["#fff5b0", "#ffd27a", "#ff9f5a", "#e8594b", "#a3204a"];
const CATEGORIES = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f"];
const QUALITY = { 1: "#2e9e5b", 2: "#4e79a7", 3: "#e3a21a", 4: "#d1343a", 9: "#8a8f98" };

const state = {
  map: null,
  summary: { count: 0, bounds: null, ranges: {}, categories: {} }, // the tiles' buildings, from tiles.json
  telemetryNames: new Set(),
  telemetryRange: {},
  alertBuildings: new Map(), // alert id -> building ids
  inAlert: new Set(),
  sensors: new Map(), // twin id -> feature
  structures: new Map(), // twin id -> feature
  alertTwins: new Set(),
  metric: "height",
  sensorPoints: null, // the sensors at their true positions (state.sensors holds them as drawn)
  moved: false, // the user has moved the map (the first view is no longer ours to set)
  onPick: () => {},
};

export const probe = {
  firstRenderMs: null,
  tileIndexMs: null, // tiles.json arrived: the tiles could be asked for (the bench's breakdown of the first render)
  markerUpdates: {}, // twin id -> {ts, value, renderedAt}
  buildingCount: 0, // buildings in the tiles (tiles.json's count)
};

function isPolygon(f) {
  return f.geometry && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon");
}

function classify(features) {
  const groups = { structures: [], zones: [], roads: [], water: [], sensors: [] };
  for (const f of features) {
    const model = f.properties.model || "";
    if (model === FLOOD_ZONE) groups.zones.push(f);
    else if (model === ROAD) groups.roads.push(f);
    else if (/Water|River/.test(model) && isPolygon(f)) groups.water.push(f);
    else if (isPolygon(f)) groups.structures.push(f); // any other twin with a footprint
    else if (f.geometry?.type === "Point") groups.sensors.push(f);
  }
  return groups;
}

const SPREAD_PX = 14; // how far from their common point co-located sensors are drawn, on the screen

/** Sensors at one point (a station's gauge, rain gauge and gate) are drawn on a small ring around it, each
 * still clickable; the twin keeps its true position (only the drawn copy moves). */
export function spreadColocated(points, metres) {
  const groups = new Map();
  for (const f of points) {
    const [lon, lat] = f.geometry.coordinates;
    const key = `${lon.toFixed(6)},${lat.toFixed(6)}`;
    groups.set(key, [...(groups.get(key) || []), f]);
  }
  return [...groups.values()].flatMap((group) => {
    if (group.length < 2) return group;
    return group.map((f, i) => {
      const [lon, lat] = f.geometry.coordinates;
      const angle = (2 * Math.PI * i) / group.length - Math.PI / 2;
      const dLat = (metres * Math.sin(angle)) / 111320;
      const dLon = (metres * Math.cos(angle)) / (111320 * Math.cos((lat * Math.PI) / 180));
      return { ...f, geometry: { type: "Point", coordinates: [lon + dLon, lat + dLat] }, properties: { ...f.properties, colocated: group.length } };
    });
  });
}

/** SPREAD_PX in metres at the map's zoom: the ring keeps its size on the screen as the map zooms. */
function spreadMetres(map) {
  const lat = map.getCenter().lat;
  return (SPREAD_PX * 40075016.7 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
}

function respreadSensors() {
  const source = state.map?.getSource("sensors");
  if (!source || !state.sensorPoints) return;
  const drawn = spreadColocated(state.sensorPoints, spreadMetres(state.map));
  for (const f of drawn) state.sensors.set(f.id, f);
  source.setData(collection(drawn));
}

function toBounds([w, s, e, n]) {
  return [[w, s], [e, n]];
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

function unionBounds(tileBounds, [[w, s], [e, n]]) {
  if (!tileBounds) return [[w, s], [e, n]];
  const [tw, ts, te, tn] = tileBounds;
  return [[Math.min(w, tw), Math.min(s, ts)], [Math.max(e, te), Math.max(n, tn)]];
}

function collection(features) {
  return { type: "FeatureCollection", features };
}

function numericRange(key) {
  const [lo, hi] = state.summary.ranges[key] || [0, 1];
  return [lo, hi === lo ? lo + 1 : hi];
}

function ramp(value, [lo, hi], colours) {
  const stops = colours.flatMap((c, i) => [lo + ((hi - lo) * i) / (colours.length - 1), c]);
  return ["interpolate", ["linear"], value, ...stops];
}

function categories(key) {
  return (state.summary.categories[key] || []).slice(0, CATEGORIES.length);
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

/** The chosen metric's colour only: an alert adds a band on the roof (``addAlertLayers``), it never repaints the
 * building, so "colour by flood depth" still reads while an alert is open. "Alert state" is itself a metric. */
function buildingColour() {
  const { colour } = metricStyle(state.metric);
  if (state.metric !== "alert") return colour;
  return ["case", ["boolean", ["feature-state", "alert"], false], ALERT_COLOUR, colour];
}

const ALERT_BAND_M = 3;
const inAlert = ["boolean", ["feature-state", "alert"], false];

/** A band of the alert colour on top of each building in an alert, and its footprint outlined on the ground.
 * Buildings not in an alert get a zero-height band at ground level, hidden inside their own walls. */
function addAlertLayers(map, source, sourceLayer, idPrefix) {
  const height = ["coalesce", ["get", "height"], 3];
  const layer = { source, ...(sourceLayer ? { "source-layer": sourceLayer } : {}) };
  map.addLayer({
    id: `${idPrefix}-alert`, type: "fill-extrusion", ...layer,
    paint: {
      "fill-extrusion-color": ALERT_COLOUR,
      "fill-extrusion-base": ["case", inAlert, height, 0],
      "fill-extrusion-height": ["case", inAlert, ["+", height, ALERT_BAND_M], 0],
      "fill-extrusion-opacity": 0.95,
    },
  });
  map.addLayer({
    id: `${idPrefix}-alert-outline`, type: "line", ...layer,
    paint: { "line-color": ALERT_COLOUR, "line-width": 3, "line-opacity": ["case", inAlert, 1, 0] },
  }, idPrefix);
}

function applyMetric() {
  const map = state.map;
  if (!map?.getLayer("buildings")) return;
  const { legend } = metricStyle(state.metric);
  const colour = buildingColour();
  for (const layer of ["buildings", "structures"]) {
    // A new data-driven colour makes MapLibre lay out every tile again: only set it when it changed.
    const now = map.getLayer(layer) && map.getPaintProperty(layer, "fill-extrusion-color");
    if (now && JSON.stringify(now) !== JSON.stringify(colour)) map.setPaintProperty(layer, "fill-extrusion-color", colour);
  }
  const el = document.getElementById("legend");
  const outline = state.metric === "alert" ? [] : [[ALERT_COLOUR, t("inAlert"), "outline"]];
  el.innerHTML = [...legend, ...outline]
    .map(([c, label, kind]) => `<span class="swatch${kind ? " " + kind : ""}" style="${kind ? "border-color" : "background"}:${c}"></span>${escapeHtml(label)}`)
    .join("<br>");
}

function fillMetricOptions() {
  const select = document.getElementById("metric");
  const fixed = [["height", t("height")], ["usage", t("usage")], ["floodDepth", t("floodDepth")], ["alert", t("alertState")]];
  const skip = new Set(["height", "floodDepth", "base", "id"]);
  const extra = Object.keys(state.summary.ranges).filter((k) => !skip.has(k)).sort().map((k) => [k, k]);
  const tele = [...state.telemetryNames].sort().map((n) => ["t:" + n, `${t("telemetry")}: ${n}`]);
  select.innerHTML = [...fixed, ...extra, ...tele]
    .map(([v, label]) => `<option value="${escapeHtml(v)}"${v === state.metric ? " selected" : ""}>${escapeHtml(label)}</option>`)
    .join("");
}

/** Buildings are drawn from two sources: the city's tiles and the other footprints. A state goes to both. */
function setBuildingState(id, values) {
  for (const target of [BUILDINGS, STRUCTURES]) {
    if (state.map.getSource(target.source)) state.map.setFeatureState({ ...target, id }, values);
  }
}

function setAlertState(ids, on) {
  for (const id of ids) setBuildingState(id, { alert: on });
}

function refreshAlertBuildings() {
  const next = new Set([...state.alertBuildings.values()].flat());
  setAlertState([...state.inAlert].filter((id) => !next.has(id)), false);
  setAlertState([...next].filter((id) => !state.inAlert.has(id)), true);
  state.inAlert = next;
  if (!state.map.getSource("sensors")) return;
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

/** The bounds of the twins drawn in the loaded tiles or as GeoJSON; those not in view are asked for. */
async function boundsOf(ids) {
  const wanted = new Set(ids);
  const found = state.map.querySourceFeatures("city", { sourceLayer: "buildings" })
    .filter((f) => wanted.has(String(f.id)))
    .map((f) => ({ geometry: f.geometry }));
  for (const id of ids) {
    const f = state.sensors.get(id) || state.structures.get(id);
    if (f) found.push(f);
  }
  if (!found.length) {
    const twins = await Promise.all(ids.slice(0, 50).map((id) => api(`/twins/${encodeURIComponent(id)}`).catch(() => null)));
    for (const twin of twins) if (twin?.geometry) found.push({ geometry: twin.geometry });
  }
  return found.length ? bounds(found) : null;
}

async function fitTo(ids, padding) {
  if (!state.map || !ids.length) return;
  const box = await boundsOf(ids);
  if (box) state.map.fitBounds(box, { padding, maxZoom: 17, duration: 600 });
}

export function focusBuildings(ids) {
  return fitTo(ids, 80);
}

export function flyTo(twinId) {
  return fitTo([twinId], 200);
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
  if (map.getSource("city") && !state.sensors.has(twin)) {
    setBuildingState(twin, { ["t_" + name]: latest.value });
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

/** Remote raster tiles under everything, only when the server was configured with them ([dashboard] base_tiles). */
function addBaseMap(map, { tiles, attribution }) {
  map.addSource("base", { type: "raster", tiles, tileSize: 256, attribution });
  map.addLayer({ id: "base", type: "raster", source: "base" });
  if (attribution) map.addControl(new maplibregl.AttributionControl({ compact: true }), "bottom-right");
}

function addBuildings(map, tiles) {
  map.addSource("city", {
    type: "vector", tiles: tiles.tiles, minzoom: tiles.minzoom, maxzoom: tiles.maxzoom,
    bounds: tiles.bounds, promoteId: { buildings: "id" },
  });
  map.addLayer({
    id: "buildings", type: "fill-extrusion", source: "city", "source-layer": "buildings",
    minzoom: tiles.vector_layers?.find((l) => l.id === "buildings")?.minzoom ?? 0,
    paint: {
      "fill-extrusion-color": buildingColour(), // the chosen metric's from the first frame on
      "fill-extrusion-height": ["coalesce", ["get", "height"], 3],
      "fill-extrusion-base": 0,
      "fill-extrusion-opacity": 0.9,
    },
  });
  addAlertLayers(map, "city", "buildings", "buildings");
}

/** The ranges and usages of the other footprints join those of the tiles' buildings (one legend for both). */
function includeInSummary(features) {
  const ranges = { ...state.summary.ranges };
  const usages = [...(state.summary.categories.usage || [])];
  for (const f of features) {
    for (const [k, v] of Object.entries(f.properties)) {
      if (typeof v !== "number" || !Number.isFinite(v) || k === "base") continue;
      ranges[k] = ranges[k] ? [Math.min(ranges[k][0], v), Math.max(ranges[k][1], v)] : [v, v];
    }
    const usage = f.properties.usage;
    if (usage != null && !usages.includes(String(usage)) && usages.length < CATEGORIES.length) usages.push(String(usage));
  }
  state.summary = { ...state.summary, ranges, categories: { ...state.summary.categories, usage: usages } };
}

/** Zones, water and roads go under the buildings; other footprints and sensors over them. */
function addOthers(map, groups) {
  const geojson = (id, list) => map.addSource(id, { type: "geojson", data: collection(list), promoteId: "id" });
  const below = map.getLayer("buildings") ? "buildings" : undefined;
  geojson("zones", groups.zones.filter((f) => String(f.properties.scale || "L1").startsWith("L1")));
  geojson("water", groups.water);
  geojson("roads", groups.roads);
  geojson("structures", groups.structures);
  geojson("sensors", groups.sensors);
  map.addLayer({
    id: "zones", type: "fill", source: "zones",
    paint: { "fill-color": ramp(["coalesce", ["get", "floodDepth"], 0], [0, 5], DEPTH_RAMP), "fill-opacity": 0.35 },
  }, below);
  map.addLayer({ id: "water", type: "fill", source: "water", paint: { "fill-color": "#9cc3e6" } }, below);
  map.addLayer({ id: "roads", type: "line", source: "roads", paint: { "line-color": "#ffffff", "line-width": 3 } }, below);
  map.addLayer({
    id: "structures", type: "fill-extrusion", source: "structures",
    paint: {
      "fill-extrusion-color": buildingColour(),
      "fill-extrusion-height": ["coalesce", ["get", "height"], 0],
      "fill-extrusion-opacity": 0.9,
    },
  });
  addAlertLayers(map, "structures", null, "structures");
  map.addLayer({
    id: "sensors", type: "circle", source: "sensors",
    paint: {
      "circle-radius": 8,
      "circle-color": ["match", ["coalesce", ["feature-state", "quality"], 2], 1, QUALITY[1], 3, QUALITY[3], 4, QUALITY[4], 9, QUALITY[9], QUALITY[2]],
      "circle-stroke-color": ["case", inAlert, ALERT_COLOUR, "#ffffff"],
      "circle-stroke-width": ["case", inAlert, 4, ["==", ["feature-state", "pulse"], 1], 4, 2],
    },
  });
}

function failed(error) {
  const status = document.getElementById("map-state");
  status.textContent = `${t("loadFailed")}: ${error.message}`;
  status.classList.add("error");
}

export async function init(onPick) {
  state.onPick = onPick;
  const status = document.getElementById("map-state");
  status.textContent = t("loading");
  maplibregl.setWorkerUrl("/static/maplibre-gl-worker.mjs");
  maplibregl.setWorkerCount(Math.max(2, navigator.hardwareConcurrency || 2)); // tiles are laid out in parallel
  // The map (its style, its workers) starts while the tile index and the other twins download.
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
    fadeDuration: 0, // no frames spent fading labels in: on a CPU-drawn canvas they delay the tiles' layout
  });
  state.map = map;
  const loaded = new Promise((resolve) => map.once("load", resolve));
  // Once the user moves the map, the late arrival of the other twins must not move it back.
  for (const kind of ["dragstart", "zoomstart", "rotatestart", "pitchstart"]) map.on(kind, (e) => e.originalEvent && (state.moved = true));
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-left");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  // The buildings' tiles are asked for as soon as their index is here; the other twins join when they arrive.
  const others = api(FEATURES_URL).catch((error) => ({ error }));
  let tiles, config;
  try {
    [tiles, config] = await Promise.all([api(TILEJSON_URL), api(CONFIG_URL)]);
  } catch (error) {
    failed(error);
    return;
  }
  probe.tileIndexMs = performance.now();
  state.summary = tiles["futago:buildings"];
  probe.buildingCount = state.summary.count;
  if (state.summary.bounds) map.fitBounds(toBounds(state.summary.bounds), { padding: 40, animate: false });
  await loaded;
  if (config.baseTiles) addBaseMap(map, config.baseTiles);
  addBuildings(map, tiles);
  fillMetricOptions();
  applyMetric();
  // The buildings are laid out first; the other twins' layers (flood zones are large polygons) follow.
  const buildingsDrawn = new Promise((resolve) => {
    const check = () => map.isSourceLoaded("city") && (map.off("render", check), resolve());
    map.on("render", check);
  });
  Promise.all([others, buildingsDrawn]).then(([{ features, error }]) => {
    if (error) return failed(error);
    const groups = classify(features);
    // The first view holds every twin with a position: the tiles' buildings and the other twins together.
    if (!state.moved && features.length) map.fitBounds(unionBounds(state.summary.bounds, bounds(features)), { padding: 40, animate: false });
    state.sensorPoints = groups.sensors;
    groups.sensors = spreadColocated(groups.sensors, spreadMetres(map));
    for (const f of groups.sensors) state.sensors.set(f.id, f);
    for (const f of groups.structures) state.structures.set(f.id, f);
    includeInSummary(groups.structures);
    addOthers(map, groups);
    fillMetricOptions();
    applyMetric();
    refreshAlertBuildings();
    status.textContent = "";
  });
  const firstFrame = () => {
    if (map.getLayer("buildings") && map.isSourceLoaded("city")) {
      probe.firstRenderMs = performance.now();
      map.off("render", firstFrame);
    }
  };
  map.on("render", firstFrame);
  map.on("error", (e) => console.error("map:", e.error?.message || e)); // a broken layer is a bug: say so
  for (const layer of ["buildings", "structures", "sensors"]) {
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
  map.on("zoomend", respreadSensors);
  onLanguage(() => {
    fillMetricOptions();
    applyMetric();
  });
}

/** Where a twin is drawn on the screen (for tests and for keyboard users' focus ring). */
export async function screenPoint(twinId) {
  if (!state.map) return null;
  const box = await boundsOf([twinId]);
  if (!box) return null;
  const [[w, s], [e, n]] = box;
  const p = state.map.project([(w + e) / 2, (s + n) / 2]);
  const rect = state.map.getCanvas().getBoundingClientRect();
  return { x: rect.left + p.x, y: rect.top + p.y };
}

export function resize() {
  state.map?.resize();
}

/** A building's live state on the map (alert, telemetry values): what the page shows, for tests. */
export function buildingState(twinId) {
  if (!state.map?.getSource("city")) return null;
  const fromTiles = state.map.getFeatureState({ ...BUILDINGS, id: twinId });
  return state.map.getSource("structures") ? { ...fromTiles, ...state.map.getFeatureState({ ...STRUCTURES, id: twinId }) } : fromTiles;
}

/** A layer's paint property as the map has it (for tests: what "colour by" really paints). */
export function paintOf(layer, property) {
  return state.map?.getLayer(layer) ? state.map.getPaintProperty(layer, property) : null;
}

/** How many distinct buildings the loaded tiles hold (for the bench: all of the district is in view). */
export function renderedBuildings() {
  const ids = new Set(state.map?.querySourceFeatures("city", { sourceLayer: "buildings" }).map((f) => f.id));
  return ids.size;
}
