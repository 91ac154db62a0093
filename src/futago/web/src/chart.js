// Time-series charts with uPlot: history, a forecast band, warning-level lines and anomaly markers.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, t } from "./i18n.js";

const LEVEL_COLOURS = { standbyLevel: "#5b8def", cautionLevel: "#e3a21a", evacuationLevel: "#f26b1d", dangerLevel: "#d1343a" };

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

/**
 * Draw a chart into ``el``. ``series``: [{label, ts, values, colour, dash, band}] where ``band`` pairs a
 * lower and an upper series (by label) to fill between; ``levels``: {name: value} horizontal lines;
 * ``markers``: [{ts, value}] anomaly points.
 */
export function drawChart(el, { series, levels = {}, markers = [], height = 220 }) {
  el.innerHTML = "";
  const withMarkers = markers.length ? [...series, { label: t("anomaly"), ts: markers.map((m) => m.ts), values: markers.map((m) => m.value), points: true, colour: "#d1343a" }] : series;
  const data = align(withMarkers);
  const bands = [];
  series.forEach((s, i) => {
    if (s.bandWith !== undefined) bands.push({ series: [i + 1, s.bandWith + 1], fill: "rgba(78,121,167,0.18)" });
  });
  const levelPlugin = {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        ctx.save();
        for (const [name, value] of Object.entries(levels)) {
          if (typeof value !== "number") continue;
          const y = u.valToPos(value, "y", true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.strokeStyle = LEVEL_COLOURS[name] || "#888";
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          ctx.fillText(`${name} ${formatNumber(value)}`, u.bbox.left + 4, y - 3);
        }
        ctx.restore();
      },
    },
  };
  const values = data.slice(1).flat().filter((v) => typeof v === "number");
  const levelValues = Object.values(levels).filter((v) => typeof v === "number");
  const lo = Math.min(...values, ...levelValues);
  const hi = Math.max(...values, ...levelValues);
  const options = {
    width: Math.max(280, el.clientWidth || 360),
    height,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: values.length ? [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05 || lo + 1] : [0, 1] } },
    legend: { live: true },
    bands,
    plugins: [levelPlugin],
    series: [
      {},
      ...withMarkers.map((s) => ({
        label: s.label,
        stroke: s.points ? "transparent" : s.colour || "#2171b5",
        dash: s.dash,
        width: s.points ? 0 : s.width || 1.5,
        spanGaps: !s.points,
        points: s.points ? { show: true, size: 7, fill: s.colour, stroke: s.colour } : { show: false },
      })),
    ],
  };
  return new uPlot(options, data, el);
}
