// Where the selected org's customers stand (issue 16): the lifecycle funnel, the value segments,
// and the latest launched campaign's result against its holdout. DOM calls and textContent only,
// so nothing from the API is parsed as HTML.

import * as charts from "./dashboard-charts.js";
import { day, number, t, tf } from "./dashboard-text.js";

const { COLORS } = charts;
// The lifecycle in the order a customer moves through it (DOMAIN.md, Retention and value).
const STAGES = [["prospect", COLORS.grey], ["active", COLORS.teal], ["at_risk", COLORS.amber], ["lapsed", COLORS.red],
  ["won_back", COLORS.blue]];
// Most valuable first.
const SEGMENTS = ["champion", "loyal", "new", "regular", "at_risk", "hibernating"];
const DAY_MS = 86_400_000;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// `reply`: GET /v1/retention.
export function renderLifecycle(nodes, reply) {
  nodes.total.textContent = tf("customers_total", { n: reply.customers });
  const stages = STAGES.map(([state, color]) => ({ name: t(`lifecycle_${state}`), value: reply.lifecycle[state], color }));
  if (!reply.customers) charts.showEmpty(nodes.chart);
  else charts.showChart(nodes.chart, charts.funnelOption(stages));
  const largest = Math.max(1, ...SEGMENTS.map((segment) => reply.segments[segment]));
  nodes.segments.replaceChildren(...SEGMENTS.map((segment) => {
    const count = reply.segments[segment];
    const item = el("li", `segment segment--${segment}`);
    item.dataset.segment = segment;
    const bar = el("span", "segment__bar");
    const fill = el("span", "segment__fill");
    fill.style.width = `${(100 * count) / largest}%`;
    bar.append(fill);
    item.append(el("span", "segment__name", t(`segment_${segment}`)), bar, el("span", "segment__count", String(count)));
    return item;
  }));
  nodes.unscored.hidden = !reply.unscored;
  nodes.unscored.textContent = reply.unscored ? tf("unscored", { n: reply.unscored }) : "";
}

// A group's visited share in %, null for an empty group.
const share = (visited, total) => (total ? (100 * visited) / total : null);

function fillGroup(node, visited, total) {
  const value = share(visited, total);
  node.querySelector(".figure__value").textContent = value === null ? "—" : `${number(value)}%`;
  node.querySelector(".figure__detail").textContent = tf("visited_of", { visited, total });
}

// `latest`: {campaign, results} from api.latestCampaign; the sent group and the holdout side by side.
export function renderCampaign(nodes, latest) {
  nodes.none.hidden = Boolean(latest.campaign);
  nodes.result.hidden = !latest.campaign;
  if (!latest.campaign) return;
  const { campaign, results } = latest;
  nodes.name.textContent = campaign.name;
  nodes.launched.textContent = tf("launched_on", { date: day(results.launched_at) });
  fillGroup(nodes.sent, results.visited.sent, results.sent);
  fillGroup(nodes.holdout, results.visited.holdout, results.holdout);
  const uplift = results.uplift_pts;
  nodes.uplift.textContent = uplift === null ? "—" : tf("uplift_points", { value: `${uplift > 0 ? "+" : ""}${number(uplift)}` });
  nodes.uplift.className = uplift === null ? "" : uplift > 0 ? "is-up" : uplift < 0 ? "is-down" : "";
  const ends = Date.parse(results.launched_at) + results.window_days * DAY_MS;
  nodes.window.textContent = results.window_closed ? t("window_closed") : tf("window_open", { date: day(new Date(ends).toISOString()) });
  // The window (`window_days` after the launch, KPI.md) still open: the figures may yet change.
  nodes.window.classList.toggle("is-open", !results.window_closed);
}
