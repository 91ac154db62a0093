// Japanese and English texts. The choice is remembered in localStorage; Japanese is the default.
const TEXTS = {
  skip: ["本文へ移動", "Skip to content"],
  views: ["表示", "Views"],
  city: ["都市", "City"],
  alerts: ["アラート", "Alerts"],
  scenarios: ["シナリオ", "Scenarios"],
  plant: ["プラント", "Plant"],
  modelsData: ["モデルとデータ", "Models and data"],
  mapLabel: ["3D都市マップ", "3D city map"],
  colourBy: ["色分け", "Colour by"],
  showResolved: ["解決済みも表示", "Show resolved"],
  close: ["閉じる", "Close"],
  live: ["ライブ", "Live"],
  offline: ["切断 — 再接続中", "Disconnected, reconnecting"],
  signIn: ["サインイン", "Sign in"],
  signInHelp: ["このサーバーは認証が必要です。管理者から受け取ったAPIキー (fk_…) を入力してください。",
    "This server requires authentication. Enter the API key (fk_…) your administrator gave you."],
  apiKey: ["APIキー", "API key"],
  signOut: ["サインアウト", "Sign out"],
  signInFailed: ["サインインできませんでした", "Could not sign in"],
  loading: ["読み込み中…", "Loading…"],
  loadFailed: ["読み込みに失敗しました", "Could not load"],
  noAlerts: ["アラートはありません", "No alerts"],
  acknowledge: ["確認", "Acknowledge"],
  approve: ["承認", "Approve"],
  reject: ["却下", "Reject"],
  evidence: ["根拠", "Evidence"],
  proposedBy: ["提案元", "Proposed by"],
  audit: ["監査記録", "Audit"],
  command: ["コマンド", "Command"],
  state: ["状態", "State"],
  severity: ["重大度", "Severity"],
  raised: ["発生", "raised"],
  acknowledged: ["確認済み", "acknowledged"],
  resolved: ["解決", "resolved"],
  proposed: ["承認待ち", "proposed"],
  approved: ["承認済み", "approved"],
  rejected: ["却下", "rejected"],
  sent: ["送信済み", "sent"],
  completed: ["完了", "completed"],
  failed: ["失敗", "failed"],
  refused: ["拒否", "refused"],
  withdrawn: ["取り下げ", "withdrawn"],
  critical: ["緊急", "critical"],
  warning: ["警告", "warning"],
  info: ["情報", "info"],
  buildingsAffected: ["影響建物", "buildings affected"],
  residents: ["住民", "residents"],
  properties: ["プロパティ", "Properties"],
  relationships: ["関係", "Relationships"],
  incoming: ["参照元", "Referenced by"],
  telemetry: ["テレメトリ", "Telemetry"],
  history: ["履歴", "History"],
  quality: ["品質", "Quality"],
  model: ["モデル", "Model"],
  none: ["なし", "none"],
  range: ["期間", "Range"],
  forecast: ["予測", "forecast"],
  band: ["予測幅 (5–95%)", "forecast band (5–95%)"],
  anomaly: ["異常", "anomaly"],
  height: ["高さ", "Height"],
  usage: ["用途", "Usage"],
  floodDepth: ["想定浸水深", "Planned flood depth"],
  alertState: ["アラート状態", "Alert state"],
  metres: ["m", "m"],
  inAlert: ["アラート対象", "in an alert"],
  normal: ["通常", "normal"],
  noValue: ["値なし", "no value"],
  sensors: ["センサー", "Sensors"],
  floodZones: ["浸水想定区域", "Flood zones"],
  water: ["水域", "Water"],
  roads: ["道路", "Roads"],
  behaviour: ["ビヘイビア", "Behaviour"],
  twin: ["ツイン", "Twin"],
  rainScale: ["降雨倍率", "Rainfall ×"],
  run: ["実行", "Run"],
  baseline: ["ベースライン", "Baseline"],
  scenario: ["シナリオ", "Scenario"],
  peakLevel: ["最高水位", "Peak level"],
  probability: ["氾濫危険水位の超過確率", "P(danger level)"],
  scenarioHelp: ["入力を変えた what-if を実行します。ライブ状態は変わりません。", "Run a what-if on changed inputs. Live state is never touched."],
  noScenarioBehaviours: ["予測ビヘイビアがありません", "No forecasting behaviour to run"],
  units: ["ユニット", "Units"],
  trends: ["トレンド", "Trends"],
  anomalyScore: ["異常スコア", "Anomaly score"],
  recommendations: ["推奨", "Recommendations"],
  noRecommendations: ["推奨はありません", "No recommendations"],
  noPlant: ["プラント設備のツインがありません", "No plant equipment twins"],
  models: ["モデル", "Models"],
  twinGraph: ["ツイングラフ", "Twin graph"],
  query: ["クエリ", "Query"],
  runQuery: ["クエリ実行", "Run query"],
  rows: ["行", "rows"],
  dataQuality: ["データ品質", "Data quality"],
  catalog: ["データカタログ", "Data catalog"],
  licence: ["ライセンス", "Licence"],
  provenance: ["由来", "Provenance"],
  records: ["件数", "Records"],
  updated: ["更新", "Updated"],
  kind: ["種別", "Kind"],
  pass: ["合格", "pass"],
  suspect: ["疑わしい", "suspect"],
  fail: ["不合格", "fail"],
  missing: ["欠測", "missing"],
  notEvaluated: ["未評価", "not evaluated"],
  pick: ["選択", "Choose"],
  done: ["完了しました", "Done"],
  approvedNote: ["ダッシュボードで承認", "approved in the dashboard"],
  rejectedNote: ["ダッシュボードで却下", "rejected in the dashboard"],
  contents: ["内容", "Contents"],
  extends: ["継承", "Extends"],
  twinsOfModel: ["ツイン数", "Twins"],
  graphHelp: ["選択したツインとその関係。件数付きの緑の点を押すと、その関係先を一覧します", "The chosen twin and its relationships; a green node with a count lists its twins when clicked"],
  groupOut: ["{twin} からの関係先", "Twins that {twin} relates to"],
  groupIn: ["{twin} への関係元", "Twins that relate to {twin}"],
  namesFailed: ["名前を読み込めませんでした (ID で表示)", "Names could not be loaded (shown by id)"],
};

const KEY = "futago.lang";
let lang = localStorage.getItem(KEY) === "en" ? "en" : "ja";
const listeners = [];

export function t(key) {
  const pair = TEXTS[key];
  return pair ? pair[lang === "ja" ? 0 : 1] : key;
}

export function language() {
  return lang;
}

/** A message object from the API ({ja, en}) or a plain string, in the chosen language. */
export function pick(message) {
  if (message && typeof message === "object") return message[lang] ?? message.en ?? message.ja ?? "";
  return message ?? "";
}

export function applyTexts(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  const toggle = document.getElementById("lang");
  if (toggle) toggle.textContent = lang === "ja" ? "EN" : "日本語";
}

export function onLanguage(fn) {
  listeners.push(fn);
}

export function setLanguage(next) {
  lang = next === "en" ? "en" : "ja";
  localStorage.setItem(KEY, lang);
  applyTexts();
  for (const fn of listeners) fn(lang);
}

// One date format per language everywhere (lists, tables, chart axes and legends): Japanese year/month/day,
// English day and month name (never a numeric day/month order a reader could take the wrong way round).
const CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const DATE_PARTS = { ja: { year: "numeric", month: "2-digit", day: "2-digit" }, en: { year: "numeric", month: "short", day: "numeric" } };
const DAY_PARTS = { ja: { month: "2-digit", day: "2-digit" }, en: { month: "short", day: "numeric" } };

function dateFormat(parts) {
  return new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-GB", parts);
}

/** A moment (ISO text, Date or epoch ms): "full" date and time with seconds, "clock" (HH:MM) or "day" (month and day). */
export function formatTime(iso, style = "full") {
  if (iso === null || iso === undefined || iso === "") return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  if (style === "clock") return dateFormat(CLOCK).format(d);
  if (style === "day") return dateFormat(DAY_PARTS[lang]).format(d);
  return dateFormat({ ...DATE_PARTS[lang], ...CLOCK, second: "2-digit" }).format(d);
}

export function formatNumber(value, digits = 2) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value ?? "");
  return value.toLocaleString(lang === "ja" ? "ja-JP" : "en-GB", { maximumFractionDigits: digits });
}
