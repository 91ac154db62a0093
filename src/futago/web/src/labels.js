// Readable names and units for twin properties, telemetry and relationships: the model's own displayName and
// unit first (DTDL, with its extends chain), then a dictionary of the names futago's city import and demo use,
// then the camelCase name split into words, so a label wraps between words and never mid-word.
import { api } from "./api.js";
import { language } from "./i18n.js";

// DTDL unit names (quantitativeTypes extension) as symbols.
const UNITS = {
  metre: "m", centimetre: "cm", millimetre: "mm", kilometre: "km", squareMetre: "m²", cubicMetre: "m³",
  kelvin: "K", degreeCelsius: "°C", degreeFahrenheit: "°F", percent: "%", second: "s", minute: "min", hour: "h",
  cubicMetrePerSecond: "m³/s", cubicMetrePerHour: "m³/h", litrePerSecond: "L/s", litrePerHour: "L/h",
  millimetrePerHour: "mm/h", metrePerSecond: "m/s", kilometrePerHour: "km/h", watt: "W", kilowatt: "kW",
  megawatt: "MW", kilowattHour: "kWh", megawattHour: "MWh", pascal: "Pa", kilopascal: "kPa", bar: "bar",
  m2: "m²", m3: "m³", kilogram: "kg", tonne: "t", kilogramPerCubicMetre: "kg/m³", molePerCubicMetre: "mol/m³", volt: "V", ampere: "A",
  hertz: "Hz", revolutionPerMinute: "rpm", decibel: "dB", lux: "lx", degreeOfArc: "°", radian: "rad",
};

// Names without a displayName in their model: PLATEAU building attributes, hazard-risk fields, the demo's twins.
const NAMES = {
  name: ["名称", "Name"], address: ["住所", "Address"], gmlId: ["gml:id", "gml:id"], buildingId: ["建物ID", "Building ID"],
  measuredHeight: ["計測高さ", "Measured height"], groundElevation: ["地盤高", "Ground elevation"],
  storeysAboveGround: ["地上階数", "Storeys above ground"], storeysBelowGround: ["地下階数", "Storeys below ground"],
  usage: ["用途", "Usage"], usageCode: ["用途コード", "Usage code"], buildingClass: ["建物分類", "Building class"],
  yearOfConstruction: ["建築年", "Year of construction"], lods: ["LOD", "Levels of detail"],
  attributes: ["属性", "Attributes"], codes: ["コード", "Codes"], risks: ["災害リスク", "Hazard risks"],
  genericAttributes: ["汎用属性", "Generic attributes"], floodDepthMax: ["最大浸水深", "Maximum flood depth"],
  surfaces: ["境界面", "Boundary surfaces"], description: ["説明", "Description"], function: ["機能", "Function"],
  class: ["分類", "Class"], creationDate: ["作成日", "Created"], terminationDate: ["廃止日", "Terminated"],
  height: ["高さ", "Height"], storeys: ["階数", "Storeys"], population: ["人口", "Population"],
  serialNumber: ["製造番号", "Serial number"], firmware: ["ファームウェア", "Firmware"], setpoint: ["設定値", "Setpoint"],
  floodWarningLevel: ["警戒水位", "Flood warning level"], operation: ["操作", "Operation"],
  waterLevel: ["水位", "Water level"], rainfall: ["雨量", "Rainfall"], flow: ["流量", "Flow"],
  bearingTemperature: ["軸受温度", "Bearing temperature"], running: ["運転中", "Running"],
  temperature: ["温度", "Temperature"], concentration: ["濃度", "Concentration"], coolantFlow: ["冷却水流量", "Coolant flow"],
  anomaly: ["異常判定", "Anomaly"], anomalyScore: ["異常スコア", "Anomaly score"], energyUse: ["エネルギー使用量", "Energy use"],
  floodDepth: ["想定浸水深", "Planned flood depth"], scale: ["規模", "Scale"], rank: ["ランク", "Rank"],
  // hazard-risk entries
  kind: ["種別", "Kind"], rankOrg: ["ランク (原典)", "Rank (source)"], depth: ["浸水深", "Depth"],
  adminType: ["管理区分", "Administrator"], duration: ["継続時間", "Duration"],
  // PLATEAU attribute keys
  prefecture: ["都道府県", "Prefecture"], city: ["市区町村", "City"], buildingStructureType: ["構造種別", "Structure"],
  surveyYear: ["調査年", "Survey year"], lod1HeightType: ["LOD1高さ種別", "LOD1 height type"],
  buildingRoofEdgeArea: ["屋根面積", "Roof edge area"], detailedUsage: ["詳細用途", "Detailed usage"],
  // generic-attribute columns
  type: ["型", "Type"], value: ["値", "Value"], unit: ["単位", "Unit"], set: ["属性セット", "Set"],
  // telemetry suffixes: a forecast, its quantiles, a simulation
  forecast: ["予測", "forecast"], sim: ["シミュレーション", "simulation"], q05: ["予測 5%点", "forecast 5th percentile"],
  q95: ["予測 95%点", "forecast 95th percentile"],
  // relationships futago's demo and city import make, for a model that names none (and for incoming ones)
  // (Japanese as PLATEAU and the City Planning Act word them: 地物, 建築物付属物, 地域地区; the target is a district)
  floodZones: ["浸水想定区域", "Flood zones"], locatedIn: ["所在地区", "Located in"], monitors: ["監視対象", "Monitors"],
  drains: ["排水先", "Drains"], partOf: ["親地物", "Part of"], hasPart: ["構成要素", "Parts"],
  hasInstallation: ["付属物", "Installations"], inHazardArea: ["土砂災害警戒区域", "Sediment hazard area"],
  inFloodZone: ["浸水想定区域", "Flood zone"], inZone: ["地域地区", "Planning zone"],
};
const UNIT_OF = { depth: "m", floodDepth: "m", floodDepthMax: "m", measuredHeight: "m", groundElevation: "m", height: "m" };
const KIND_NAMES = { river_flooding: ["洪水浸水想定", "River flooding"], tsunami: ["津波浸水想定", "Tsunami"],
  high_tide: ["高潮浸水想定", "Storm surge"], inland_flooding: ["内水浸水想定", "Inland flooding"],
  landslide: ["土砂災害", "Landslide"] };

const TEXTS = {
  time: ["時刻", "Time"], more: ["件", "more"], count: ["件", "entries"], id: ["ID", "ID"], field: ["項目", "Field"],
};

const schemas = new Map(); // model id -> Promise of {names: {name: {label, unit, kind}}, displayName}

function side() {
  return language() === "ja" ? 0 : 1;
}

export function text(key) {
  return TEXTS[key]?.[side()] ?? key;
}

/** "measuredHeight" → "measured height": words a table cell can wrap between. */
export function words(name) {
  const spaced = String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_~]+/g, " ").trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1).toLowerCase().replace(/\blod(\d)/g, "LOD$1");
}

export function unitSymbol(unit) {
  if (!unit) return "";
  return UNITS[unit] ?? unit;
}

function localised(display) {
  if (!display) return null;
  if (typeof display === "string") return display;
  return display[language()] ?? display.en ?? display.ja ?? null;
}

async function loadSchema(modelId) {
  const names = {};
  let displayName = null;
  const seen = new Set();
  const visit = async (id) => {
    if (!id || seen.has(id)) return;
    seen.add(id);
    const body = await api(`/models/${encodeURIComponent(id)}`).catch(() => null);
    const model = body?.model;
    if (!model) return;
    displayName = displayName || model.displayName || body.displayName;
    for (const c of model.contents || []) {
      const kinds = [].concat(c["@type"] || []);
      if (!names[c.name]) names[c.name] = { display: c.displayName || null, unit: c.unit || null, kind: kinds[0] || "" };
    }
    for (const parent of [].concat(model.extends || [])) await visit(typeof parent === "string" ? parent : parent?.["@id"]);
  };
  await visit(modelId);
  return { names, displayName };
}

/** The labels and units of a model's contents (cached per model). Never fails: an unknown model has none. */
export function schemaOf(modelId) {
  if (!schemas.has(modelId)) schemas.set(modelId, loadSchema(modelId).catch(() => ({ names: {}, displayName: null })));
  return schemas.get(modelId);
}

/** A readable label for a property, telemetry or relationship name, in the chosen language. */
export function label(name, schema) {
  const own = localised(schema?.names?.[name]?.display);
  if (own) return own;
  if (NAMES[name]) return NAMES[name][side()];
  const stage = /^(.+)_exceedance~(\w+)$/.exec(name); // the chance of passing a warning level
  if (stage) {
    const level = label(`${stage[2]}Level`, schema);
    return language() === "ja" ? `${level}の超過確率` : `P(${level})`;
  }
  const tilde = String(name).indexOf("~");
  const base = tilde > 0 ? name.slice(0, tilde) : name.replace(/_(forecast|sim)$/, "");
  if (base !== name) {
    const suffix = name.slice(base.length).replace(/^[_~]/, "");
    const known = NAMES[suffix.replace(/^forecast~/, "")];
    return `${label(base, schema)} (${known ? known[side()] : words(suffix)})`;
  }
  return words(name);
}

/** The unit symbol of a property or telemetry ("" when the model gives none and it is not a known length). */
export function unitOf(name, schema) {
  const own = schema?.names?.[name]?.unit;
  if (own) return unitSymbol(own);
  const base = String(name).split("~")[0].replace(/_(forecast|sim)$/, "");
  if (base !== name && !/exceedance/.test(name)) return unitOf(base, schema);
  return UNIT_OF[name] || "";
}

export function modelName(schema, modelId) {
  return localised(schema?.displayName) || String(modelId || "").replace(/^dtmi:|;\d+$/g, "");
}

/** A hazard kind ("river_flooding") in words. */
export function kindName(kind) {
  return KIND_NAMES[kind]?.[side()] ?? words(kind);
}
