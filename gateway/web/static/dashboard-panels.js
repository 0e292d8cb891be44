// The dealer evaluation table and the open improvement plans: DOM calls and textContent only,
// so nothing from the API is parsed as HTML.

import { day, kpiValue, number, periodLabel, t, tf } from "./dashboard-text.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// `reply`: GET /v1/evaluations; `scheme`: the scheme it is of (element titles, in its order);
// `orgName(code)`; the selected org's row is marked.
export function renderEvaluation(table, caption, reply, scheme, orgName, selected) {
  caption.textContent = reply.published_at ? tf("published_on", { date: day(reply.published_at) }) : t("provisional");
  const elements = scheme.elements.filter((element) => reply.items.some((item) => item.elements[element.code]));
  const head = el("tr");
  for (const [text, numeric] of [[t("rank"), true], [t("dealer"), false], [t("score"), true], [t("tier"), false],
    [t("rebate"), true], ...elements.map((element) => [element.title, true])]) {
    const cell = el("th", numeric ? "num" : "", text);
    cell.scope = "col";
    head.append(cell);
  }
  const rows = reply.items.map((item) => {
    const row = el("tr", item.org_code === selected ? "is-selected" : "");
    row.dataset.org = item.org_code;
    const name = el("th", "", orgName(item.org_code));
    name.scope = "row";
    const tier = el("td", "");
    if (item.tier) tier.append(el("span", "tier", item.tier));
    else tier.textContent = "—";
    row.append(el("td", "num", item.rank ?? "—"), name, el("td", "num strong", number(item.score)), tier,
      el("td", "num", item.rebate_pct === null ? "—" : `${number(item.rebate_pct)}%`),
      ...elements.map((element) => el("td", "num", number(item.elements[element.code]?.score))));
    return row;
  });
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  tbody.append(...rows);
  table.replaceChildren(thead, tbody);
}

// Open plans (every status but closed), each with its actions' progress and any overdue ones.
export function renderPlans(list, plans, orgName, selected) {
  list.replaceChildren(...plans.map((plan) => {
    const done = plan.actions.filter((action) => action.done_at).length;
    const total = plan.actions.length;
    const overdue = plan.actions.filter((action) => !action.done_at && action.overdue).length;
    const item = el("li", "plan");
    item.dataset.plan = plan.id;

    const head = el("div", "plan__head");
    const title = el("strong", "plan__kpi", t(plan.kpi));
    head.append(title);
    if (plan.org_code !== selected) head.append(el("span", "plan__org", orgName(plan.org_code)));
    head.append(el("span", `chip chip--${plan.status}`, t(`status_${plan.status}`)));

    const figures = el("p", "plan__figures",
      `${periodLabel(plan.period)} ${t("baseline")} ${kpiValue(plan.kpi, plan.baseline)} → ${t("target")} ${kpiValue(plan.kpi, plan.target)}`);
    if (plan.result) {
      figures.append(" · ", el("span", plan.result.met ? "plan__met" : "plan__miss",
        `${t("recheck")} ${periodLabel(plan.recheck_period)}: ${kpiValue(plan.kpi, plan.result.value)} ${plan.result.met ? t("met") : t("not_met")}`));
    }

    const share = total ? Math.round((100 * done) / total) : 0;
    const bar = el("div", "progress");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(share));
    const fill = el("span", "progress__fill");
    fill.style.width = `${share}%`;
    bar.append(fill);
    const foot = el("p", "plan__progress");
    foot.append(el("span", "plan__done", tf("actions_done", { done, total })));
    if (overdue) foot.append(el("span", "badge badge--miss", tf("overdue", { n: overdue })));
    item.append(head, figures, bar, foot);
    return item;
  }));
}
