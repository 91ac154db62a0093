// Time-series charts with uPlot: history, a forecast band, warning-level lines and anomaly markers. Every
// chart has one quantity on its y axis, named with its unit, and its times in the page language's format.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, formatTime, t } from "./i18n.js";
import { text } from "./labels.js";

const LEVEL_COLOURS = { standbyLevel: "#5b8def", cautionLevel: "#e3a21a", evacuationLevel: "#f26b1d", dangerLevel: "#d1343a" };
const DAY_S = 86400;

function seconds(iso) {
  return Date.parse(iso) / 1000;
}

/** Merge several {ts[], values[]} series onto one sorted time axis (uPlot's aligned data). */
export function align(seriesList) {
  const times = [...new Set(seriesList.flatMap((s) => s.ts.map(seconds)))].sort((a, b) => a - b);
  const index = new Map(times.map((x, i) => [x, i]));
  const columns = seriesList.map((s) => {
    const column = new Array(times.length).fill(null);
    s.ts.forEach((ts, i) => (column[index.get(seconds(ts))] = s.values[i]));
    return column;
  });
  return [times, ...columns];
}

/** Tick labels: the clock, with the day where it changes (and on the first tick) when the span crosses days. */
export function timeTicks(splits) {
  let lastDay = null;
  const span = splits.length ? splits[splits.length - 1] - splits[0] : 0;
  return splits.map((s) => {
    const ms = s * 1000;
    const day = formatTime(ms, "day");
    const showDay = span >= DAY_S / 2 && day !== lastDay;
    lastDay = day;
    return showDay ? `${day}\n${formatTime(ms, "clock")}` : formatTime(ms, "clock");
  });
}

export function axisTitle(name, unit) {
  return unit ? `${name} (${unit})` : name;
}

/** Horizontal lines at named levels, each labelled with its name and value at the right end of the line. */
function levelPlugin(levels, unit) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const px = devicePixelRatio || 1;
        ctx.save();
        for (const level of levels) {
          const y = u.valToPos(level.value, "y", true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.strokeStyle = LEVEL_COLOURS[level.key] || "#888";
          ctx.setLineDash([6 * px, 4 * px]);
          ctx.lineWidth = 1.5 * px;
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          // The name on a white label above the line's right end, so the dashes never run through the text.
          const caption = `${level.label} ${formatNumber(level.value)}${unit ? " " + unit : ""}`;
          ctx.font = `${11 * px}px system-ui, sans-serif`;
          const right = u.bbox.left + u.bbox.width - 4 * px;
          const width = ctx.measureText(caption).width;
          ctx.fillStyle = "rgba(255,255,255,0.85)";
          ctx.fillRect(right - width - 2 * px, y - 14 * px, width + 4 * px, 12 * px);
          ctx.fillStyle = ctx.strokeStyle;
          ctx.textAlign = "right";
          ctx.fillText(caption, right, y - 4 * px);
        }
        ctx.restore();
      },
    },
  };
}

function yRange(data, levels) {
  const values = data.slice(1).flat().filter((v) => typeof v === "number");
  if (!values.length) return [0, 1];
  const all = [...values, ...levels.map((l) => l.value)];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const pad = (hi - lo) * 0.08 || Math.abs(lo) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

/**
 * Draw a chart into ``el``. ``series``: [{label, ts, values, colour, dash, bandWith}] where ``bandWith`` pairs
 * an upper series with a lower one (by index) to fill between; ``levels``: [{key, label, value}] horizontal
 * lines; ``markers``: [{ts, value}] anomaly points; ``axis`` and ``unit``: the y axis's quantity and unit.
 */
export function drawChart(el, { series, levels = [], markers = [], height = 220, axis = "", unit = "" }) {
  el.innerHTML = "";
  const named = levels.filter((l) => typeof l.value === "number");
  const withMarkers = markers.length ? [...series, { label: t("anomaly"), ts: markers.map((m) => m.ts), values: markers.map((m) => m.value), points: true, colour: "#d1343a" }] : series;
  const data = align(withMarkers);
  const bands = [];
  series.forEach((s, i) => {
    if (s.bandWith !== undefined) bands.push({ series: [i + 1, s.bandWith + 1], fill: "rgba(78,121,167,0.18)" });
  });
  const options = {
    width: Math.max(280, el.clientWidth || 360),
    height,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: yRange(data, named) } },
    legend: { live: true },
    bands,
    plugins: [levelPlugin(named, unit)],
    axes: [
      {
        values: (u, splits) => {
          const ticks = timeTicks(splits);
          el.dataset.ticks = ticks.join("|"); // what the axis reads, for tests and assistive tools
          return ticks;
        },
        space: 60,
      },
      { label: axisTitle(axis, unit), labelSize: 18, size: 56, values: (u, splits) => splits.map((v) => formatNumber(v, 3)) },
    ],
    series: [
      { label: text("time"), value: (u, v) => (v === null || v === undefined ? "--" : formatTime(v * 1000)) },
      ...withMarkers.map((s) => ({
        label: s.label,
        stroke: s.points ? "transparent" : s.colour || "#2171b5",
        dash: s.dash,
        width: s.points ? 0 : s.width || 1.5,
        spanGaps: !s.points,
        points: s.points ? { show: true, size: 7, fill: s.colour, stroke: s.colour } : { show: false },
        value: (u, v) => (v === null || v === undefined ? "--" : `${formatNumber(v, 3)}${unit ? " " + unit : ""}`),
      })),
    ],
  };
  el.dataset.axis = axisTitle(axis, unit);
  el.dataset.levels = named.map((l) => l.label).join("|");
  el.dataset.series = String(withMarkers.filter((s) => !s.points).length);
  return new uPlot(options, data, el);
}
