// KPI tiles: value, target, met or not, n, and a sparkline of the last twelve months.
// Built with DOM calls and textContent only, so nothing from the API is parsed as HTML.

import { KPIS, kpiValue, number, t, unit } from "./dashboard-text.js";

const SVG = "http://www.w3.org/2000/svg";
const LEAD = new Set(["csi", "ssi", "nps"]);
// Below this many records a figure swings with every answer: the tile is shaded and says so
// (the rankings' minimum n, KPI.md).
export const MIN_N = 10;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sparkline(points) {
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "tile__spark");
  svg.setAttribute("viewBox", "0 0 100 28");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  if (!values.length) return svg;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const coords = [];
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    coords.push([(i / Math.max(1, points.length - 1)) * 100, hi === lo ? 14 : 25 - ((p.value - lo) / span) * 22]);
  });
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", coords.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  line.setAttribute("vector-effect", "non-scaling-stroke");
  // The latest month as a dot: a zero-length line with a round cap and a non-scaling stroke
  // stays round however much the tile stretches the viewBox (a circle would not).
  const [x, y] = coords[coords.length - 1].map((v) => v.toFixed(1));
  const last = document.createElementNS(SVG, "line");
  for (const [name, value] of [["x1", x], ["y1", y], ["x2", x], ["y2", y], ["class", "tile__dot"],
    ["vector-effect", "non-scaling-stroke"]]) last.setAttribute(name, value);
  svg.append(line, last);
  return svg;
}

function tile(kpi, figure, points) {
  const node = el("article", LEAD.has(kpi) ? "tile tile--lead" : "tile");
  node.dataset.kpi = kpi;
  const value = figure ? figure.value : null;
  node.append(el("h3", "tile__name", t(kpi)));
  const row = el("p", "tile__value");
  row.append(el("span", "tile__number", kpiValue(kpi, value)));
  if (value !== null && value !== undefined && unit(kpi)) row.append(el("span", "tile__unit", unit(kpi)));
  node.append(row);

  const meta = el("p", "tile__meta");
  const target = figure && figure.target !== null && figure.target !== undefined;
  meta.append(el("span", "tile__target", target ? `${t("target")} ${kpiValue(kpi, figure.target)}` : t("no_target")));
  if (target && value !== null && value !== undefined) {
    const met = Boolean(figure.met);
    const badge = el("span", `badge ${met ? "badge--met" : "badge--miss"}`, met ? t("met") : t("not_met"));
    meta.append(badge);
    node.classList.add(met ? "tile--met" : "tile--miss");
  }
  node.append(meta);
  if (value === null || value === undefined) node.classList.add("tile--empty");
  else if (figure.n != null && figure.n < MIN_N) {
    node.classList.add("tile--thin");
    node.append(el("p", "tile__thin", t("thin_sample")));
  }
  const foot = el("div", "tile__foot");
  foot.append(sparkline(points || []), el("span", "tile__n", `${t("n")} ${figure && figure.n != null ? number(figure.n, 0) : "—"}`));
  node.append(foot);
  return node;
}

export function renderTiles(container, kpis, trends) {
  container.replaceChildren(...KPIS.map((kpi) => tile(kpi, kpis ? kpis[kpi] : null, trends[kpi])));
}
