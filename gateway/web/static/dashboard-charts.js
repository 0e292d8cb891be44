// echarts options for each panel, and the "no data" state a panel shows instead of an empty chart.
// Every string from the API that reaches a tooltip goes through escapeHtml.

import { escapeHtml, kpiValue, number, shortPeriod, t, unit } from "./dashboard-text.js";

export const COLORS = { navy: "#14365f", blue: "#2f6fb0", teal: "#2a9d8f", amber: "#d08a2e", red: "#c8553d",
  grey: "#8a94a6", line: "#e3e8ef", text: "#1f2a37", muted: "#5b6678", faint: "#eef2f7" };
const SERIES = { csi: COLORS.blue, ssi: COLORS.teal, nps: COLORS.amber };
const FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
const BASE = {
  textStyle: { fontFamily: FONT, color: COLORS.text },
  animationDuration: 400,
  tooltip: { confine: true, backgroundColor: "#fff", borderColor: COLORS.line, textStyle: { color: COLORS.text, fontSize: 12 },
    extraCssText: "box-shadow: 0 6px 20px rgba(20,54,95,.12); border-radius: 8px;" },
};
const AXIS = { axisLine: { lineStyle: { color: COLORS.line } }, axisTick: { show: false },
  axisLabel: { color: COLORS.muted }, splitLine: { lineStyle: { color: COLORS.faint } } };

const observed = new WeakSet();

function emptyBox(el) {
  let box = el.nextElementSibling;
  if (!box || !box.classList.contains("empty")) {
    box = document.createElement("div");
    box.className = "empty";
    box.setAttribute("role", "note");
    const title = document.createElement("strong");
    const hint = document.createElement("span");
    box.append(title, hint);
    el.after(box);
  }
  return box;
}

export function showEmpty(el, hint = t("no_data_hint"), title = t("no_data")) {
  const instance = window.echarts && echarts.getInstanceByDom(el);
  if (instance) instance.dispose();
  el.hidden = true;
  const box = emptyBox(el);
  box.children[0].textContent = title;
  box.children[1].textContent = hint;
  box.hidden = false;
}

export function showChart(el, option) {
  emptyBox(el).hidden = true;
  el.hidden = false;
  const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({ ...BASE, ...option }, { notMerge: true });
  if (!observed.has(el)) {
    observed.add(el);
    new ResizeObserver(() => { const live = echarts.getInstanceByDom(el); if (live) live.resize(); }).observe(el);
  }
  return chart;
}

export function rankingOption(kpi, items, selected, labelWidth = 140) {
  const rows = [...items].sort((a, b) => a.rank - b.rank).reverse();  // rank 1 at the top
  const names = rows.map((row) => row.name || row.org_code);
  const suffix = unit(kpi);
  const tooltip = (index) => {
    const row = rows[index];
    return `<strong>${escapeHtml(row.rank)}. ${escapeHtml(row.name || row.org_code)}</strong><br>`
      + `${escapeHtml(t("value"))}: <b>${escapeHtml(kpiValue(kpi, row.value))}${escapeHtml(suffix)}</b><br>`
      + `${escapeHtml(t("n"))}: ${escapeHtml(row.n)}<br>`
      + `${escapeHtml(t("interval"))}: ${escapeHtml(number(row.ci_low))} – ${escapeHtml(number(row.ci_high))}`;
  };
  return {
    grid: { left: 8, right: 16, top: 8, bottom: 24, containLabel: true },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => tooltip(p.dataIndex) },
    // From zero (echarts includes it unless told to `scale`): a bar cut at 78 made 82 look twice 80.
    xAxis: { type: "value", ...AXIS, min: (range) => Math.min(0, range.min) },
    yAxis: { type: "category", data: names, ...AXIS, axisLabel: { color: COLORS.text, width: labelWidth, overflow: "truncate" } },
    series: [
      { type: "bar", barMaxWidth: 18, itemStyle: { borderRadius: [0, 4, 4, 0] },
        data: rows.map((row) => ({ value: row.value, itemStyle: { color: row.org_code === selected ? COLORS.navy : COLORS.blue } })),
        // Inside the bar's start: at its end the whisker crosses the number.
        label: { show: true, position: "insideLeft", color: "#fff", fontWeight: 600, formatter: (p) => kpiValue(kpi, p.value) } },
      { type: "custom", name: "ci", z: 10, tooltip: { show: false },
        data: rows.map((row, index) => [row.ci_low, row.ci_high, index]).filter((d) => d[0] != null && d[1] != null),
        encode: { x: [0, 1], y: 2 }, renderItem: errorBar },
    ],
  };
}

// People of one role, `items` best first (dashboard-app.js peopleInOrder); those below the minimum
// n grey and labelled "not ranked". Scores run 0..100, so the axis does and whiskers are clipped to it.
export function peopleOption(kpi, items, dealerName, labelWidth = 140) {
  const rows = [...items].reverse();  // the first at the top
  const tooltip = (index) => {
    const row = rows[index];
    return `<strong>${escapeHtml(row.name)}</strong> · ${escapeHtml(dealerName(row.dealer_code))}<br>`
      + `${escapeHtml(t("value"))}: <b>${escapeHtml(kpiValue(kpi, row.value))}</b><br>`
      + `${escapeHtml(t("n"))}: ${escapeHtml(row.n)}<br>`
      + `${escapeHtml(t("interval"))}: ${escapeHtml(number(row.ci_low))} – ${escapeHtml(number(row.ci_high))}<br>`
      + `${escapeHtml(t("rank"))}: ${escapeHtml(row.rank ?? t("not_ranked"))}`;
  };
  return {
    grid: { left: 8, right: 16, top: 8, bottom: 24, containLabel: true },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => tooltip(p.dataIndex) },
    xAxis: { type: "value", ...AXIS, min: 0, max: 100 },
    yAxis: { type: "category", data: rows.map((row) => row.name), ...AXIS,
      axisLabel: { color: COLORS.text, width: labelWidth, overflow: "truncate" } },
    series: [
      { type: "bar", barMaxWidth: 20, itemStyle: { borderRadius: [0, 4, 4, 0] },
        data: rows.map((row) => ({ value: row.value, unranked: row.rank === null,
          itemStyle: { color: row.rank === null ? "#c3cad6" : COLORS.blue },
          label: { color: row.rank === null ? COLORS.text : "#fff" } })),
        // Inside the bar's start, as in the ranking.
        label: { show: true, position: "insideLeft", fontWeight: 600,
          formatter: (p) => (p.data.unranked ? `${kpiValue(kpi, p.value)} · ${t("not_ranked")}` : kpiValue(kpi, p.value)) } },
      { type: "custom", name: "ci", z: 10, clip: true, tooltip: { show: false },
        data: rows.map((row, index) => [row.ci_low, row.ci_high, index]).filter((d) => d[0] != null && d[1] != null),
        encode: { x: [0, 1], y: 2 }, renderItem: errorBar },
    ],
  };
}

function errorBar(params, api) {
  const low = api.coord([api.value(0), api.value(2)]);
  const high = api.coord([api.value(1), api.value(2)]);
  const cap = 5;
  const style = { stroke: COLORS.grey, lineWidth: 1.5 };  // visible on the dark bar of the chosen dealer too
  return { type: "group", children: [
    { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style },
    { type: "line", shape: { x1: low[0], y1: low[1] - cap, x2: low[0], y2: low[1] + cap }, style },
    { type: "line", shape: { x1: high[0], y1: high[1] - cap, x2: high[0], y2: high[1] + cap }, style },
  ] };
}

// Two panels sharing the months: CSI and SSI (0..100) above, NPS (-100..100) below. On one
// grid with two y axes, a line's height read against the wrong axis.
export function trendsOption(seriesByKpi) {
  const periods = [...new Set(Object.values(seriesByKpi).flat().map((p) => p.period))].sort();
  const series = Object.entries(seriesByKpi).map(([kpi, points]) => {
    const byPeriod = new Map(points.map((p) => [p.period, p]));
    const panel = kpi === "nps" ? 1 : 0;
    return { name: kpi.toUpperCase(), type: "line", smooth: 0.3, symbolSize: 6, connectNulls: true,
      xAxisIndex: panel, yAxisIndex: panel, color: SERIES[kpi], lineStyle: { width: 2.5 },
      data: periods.map((period) => { const p = byPeriod.get(period); return p ? p.value : null; }) };
  });
  const months = periods.map(shortPeriod);
  const xAxis = (gridIndex, labels) => ({ type: "category", gridIndex, data: months, ...AXIS, boundaryGap: false,
    splitLine: { show: false }, axisLabel: { ...AXIS.axisLabel, show: labels } });
  const yAxis = (gridIndex, name, min, max, interval) => ({ type: "value", gridIndex, name, min, max, interval, ...AXIS,
    nameTextStyle: { color: COLORS.muted, align: "left" } });
  return {
    legend: { top: 0, icon: "roundRect", itemWidth: 14, itemHeight: 4, textStyle: { color: COLORS.muted } },
    // right 24: the last month's label is centred on the right edge (boundaryGap false).
    grid: [{ left: 8, right: 24, top: 44, height: "38%", containLabel: true },
      { left: 8, right: 24, bottom: 8, height: "30%", containLabel: true }],
    tooltip: { ...BASE.tooltip, trigger: "axis", valueFormatter: (v) => number(v) },
    axisPointer: { link: [{ xAxisIndex: "all" }] },
    xAxis: [xAxis(0, false), xAxis(1, true)],
    yAxis: [yAxis(0, "CSI / SSI", 0, 100, 25), yAxis(1, "NPS", -100, 100, 100)],
    series,
  };
}

// "Service facility" on one line ran off a phone-wide radar: long names break at the space nearest the middle.
function twoLines(name) {
  if (name.length <= 10 || !name.includes(" ")) return name;
  const spaces = [...name].map((c, i) => (c === " " ? i : -1)).filter((i) => i > 0);
  const cut = spaces.reduce((best, i) => (Math.abs(i - name.length / 2) < Math.abs(best - name.length / 2) ? i : best));
  return `${name.slice(0, cut)}\n${name.slice(cut + 1)}`;
}

export function radarOption(factors, own, parent) {
  const indicator = factors.map((f) => ({ name: f.name, max: 100 }));
  const values = (scores) => factors.map((f) => scores.get(f.code) ?? 0);
  // The organisation's own scores are written at its points; the parent's stay in the tooltip,
  // two numbers at every corner would be unreadable.
  const data = [{ name: own.name, value: values(own.scores), itemStyle: { color: COLORS.blue },
    areaStyle: { color: "rgba(47,111,176,.18)" }, lineStyle: { width: 2 },
    label: { show: true, formatter: (p) => number(p.value), color: COLORS.navy, fontSize: 11, fontWeight: 600,
      backgroundColor: "rgba(255,255,255,.85)", borderRadius: 3, padding: [1, 3] } }];
  if (parent) data.push({ name: parent.name, value: values(parent.scores), itemStyle: { color: COLORS.grey },
    lineStyle: { type: "dashed", width: 1.5 }, areaStyle: { color: "rgba(138,148,166,.08)" } });
  return {
    legend: { bottom: 0, icon: "roundRect", itemWidth: 14, itemHeight: 4, textStyle: { color: COLORS.muted },
      formatter: (name) => (name.length > 24 ? `${name.slice(0, 23)}…` : name) },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => `<strong>${escapeHtml(p.name)}</strong><br>`
      + factors.map((f, i) => `${escapeHtml(f.name)}: ${escapeHtml(number(p.value[i]))}`).join("<br>") },
    radar: { indicator, radius: "62%", center: ["50%", "48%"], splitNumber: 4,
      axisName: { color: COLORS.muted, fontSize: 11, formatter: twoLines },
      splitLine: { lineStyle: { color: COLORS.line } }, splitArea: { areaStyle: { color: ["#fff", "#f8fafc"] } },
      axisLine: { lineStyle: { color: COLORS.line } } },
    series: [{ type: "radar", symbolSize: 5, data }],
  };
}

// Axis ends a little beyond the data, so points and the quadrant labels never sit on the frame.
function padded(values, share = 0.18, least = 0.02) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max((hi - lo) * share, least);
  return [lo - pad, hi + pad];
}

export function driversOption(factors) {
  const meanPerf = factors.reduce((s, f) => s + f.performance, 0) / factors.length;
  const meanImp = factors.reduce((s, f) => s + f.importance, 0) / factors.length;
  const [xMin, xMax] = padded(factors.map((f) => f.performance), 0.18, 1);
  const [yMin, yMax] = padded(factors.map((f) => f.importance));
  const area = (from, to, color, text, position) => [
    { coord: from, itemStyle: { color }, label: { show: true, position, formatter: text, color: COLORS.grey, fontSize: 11 } },
    { coord: to }];
  const axis = (name, extra) => ({ type: "value", name, min: extra.min, max: extra.max, ...AXIS,
    axisLabel: { color: COLORS.muted, showMinLabel: false, showMaxLabel: false, formatter: (v) => number(v, extra.digits) } });
  return {
    grid: { left: 8, right: 24, top: 28, bottom: 28, containLabel: true },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => `<strong>${escapeHtml(p.data.name)}</strong><br>`
      + `${escapeHtml(t("performance"))}: ${escapeHtml(number(p.data.value[0]))}<br>`
      + `${escapeHtml(t("importance"))}: ${escapeHtml(number(p.data.value[1], 2))}` },
    xAxis: { ...axis(t("performance"), { min: xMin, max: xMax, digits: 0 }), nameLocation: "middle", nameGap: 24 },
    yAxis: axis(t("importance"), { min: yMin, max: yMax, digits: 2 }),
    series: [{
      type: "scatter", symbolSize: 14,
      data: factors.map((f) => ({ name: f.name, value: [f.performance, f.importance],
        itemStyle: { color: f.improveFirst ? COLORS.red : COLORS.blue, borderColor: "#fff", borderWidth: 1.5 } })),
      label: { show: true, position: "right", formatter: (p) => p.data.name, color: COLORS.text, fontSize: 11 },
      labelLayout: { hideOverlap: true },
      markLine: { silent: true, symbol: "none", label: { show: false }, lineStyle: { color: COLORS.grey, type: "dashed" },
        data: [{ xAxis: meanPerf }, { yAxis: meanImp }] },
      markArea: { silent: true, data: [
        area([xMin, yMax], [meanPerf, meanImp], "rgba(200,85,61,.07)", t("quadrant_improve"), "insideTopLeft"),
        area([meanPerf, yMax], [xMax, meanImp], "rgba(46,125,87,.05)", t("quadrant_keep"), "insideTopRight"),
      ] },
    }],
  };
}

export function complaintsOption(categories) {
  const rows = [...categories].sort((a, b) => a.count - b.count);
  return {
    grid: { left: 8, right: 36, top: 4, bottom: 4, containLabel: true },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => `${escapeHtml(p.name)}: <b>${escapeHtml(p.value)}</b>` },
    xAxis: { type: "value", minInterval: 1, ...AXIS, show: false },
    yAxis: { type: "category", data: rows.map((r) => r.category), ...AXIS, axisLabel: { color: COLORS.text } },
    series: [{ type: "bar", barMaxWidth: 16, itemStyle: { color: COLORS.teal, borderRadius: [0, 4, 4, 0] },
      data: rows.map((r) => r.count), label: { show: true, position: "right", color: COLORS.muted } }],
  };
}

// The lifecycle funnel: `stages` [{name, value, color}] in the lifecycle's order (not sorted by
// size), one centred bar each, as wide as its own count (echarts' funnel series draws each band
// from its count to the next one's, so an empty first stage looked as wide as the second). The
// counts are in the axis labels: a zero stage has no bar but keeps its line.
export function funnelOption(stages, labelWidth = 120) {
  const widest = Math.max(1, ...stages.map((s) => s.value));
  return {
    grid: { left: 8, right: 8, top: 4, bottom: 4, containLabel: true },
    tooltip: { ...BASE.tooltip, trigger: "item", formatter: (p) => `${escapeHtml(p.name)}: <b>${escapeHtml(p.value)}</b>` },
    xAxis: { type: "value", show: false, min: 0, max: widest },
    yAxis: { type: "category", inverse: true, data: stages.map((s) => s.name), ...AXIS, axisLine: { show: false },
      axisLabel: { color: COLORS.text, width: labelWidth, overflow: "truncate",
        formatter: (name, index) => `${name}  ${stages[index].value}` } },
    series: [
      // The transparent half of what each bar lacks of the widest: it centres the bar.
      { type: "bar", stack: "funnel", silent: true, tooltip: { show: false }, itemStyle: { color: "transparent" },
        data: stages.map((s) => (widest - s.value) / 2) },
      { type: "bar", stack: "funnel", barWidth: "72%", itemStyle: { borderRadius: 4 },
        data: stages.map((s) => ({ value: s.value, itemStyle: { color: s.color } })) },
    ],
  };
}
