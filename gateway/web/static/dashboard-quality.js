// Survey integrity per dealer (issue 17) and the quality loop (issue 18): quality signals with
// their sources, the org's open recalls (one's progress per dealer on a click) and the open
// technical requests. DOM calls and
// textContent only, so nothing from the API is parsed as HTML.

import { currentLang, number, t, tf } from "./dashboard-text.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fill(table, columns, rows) {
  const head = el("tr");
  for (const [text, numeric] of columns) {
    const cell = el("th", numeric ? "num" : "", text);
    cell.scope = "col";
    head.append(cell);
  }
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  tbody.append(...rows);
  table.replaceChildren(thead, tbody);
}

function rowHead(text) {
  const cell = el("th", "", text);
  cell.scope = "row";
  return cell;
}

// Flagged (awaiting review) over responses, in %; a dealer without responses has none.
const flaggedShare = (dealer) => (dealer.responses ? (100 * dealer.flagged) / dealer.responses : null);

// `reply`: GET /v1/survey-integrity; the most flagged share first, dealers without responses last.
export function renderIntegrity(table, reply, orgName) {
  const dealers = [...reply.dealers].sort((a, b) => (flaggedShare(b) ?? -1) - (flaggedShare(a) ?? -1)
    || b.flagged - a.flagged || a.dealer_code.localeCompare(b.dealer_code));
  // The share, the order's key, comes next to the dealer: on a phone the later columns scroll.
  fill(table, [[t("dealer"), false], [t("flagged_share"), true], [t("flagged"), true], [t("responses"), true],
    [t("invalid"), true], [t("by_flag"), false]], dealers.map((dealer) => {
    const row = el("tr");
    row.dataset.org = dealer.dealer_code;
    const share = flaggedShare(dealer);
    const flags = Object.entries(dealer.by_flag).filter(([, count]) => count > 0)
      .map(([flag, count]) => `${t(`flag_${flag}`)} ${count}`).join(t("list_separator"));
    row.append(rowHead(orgName(dealer.dealer_code)), el("td", "num strong", share === null ? "—" : `${number(share)}%`),
      el("td", "num", String(dealer.flagged)), el("td", "num", String(dealer.responses)),
      el("td", "num", String(dealer.invalid)), el("td", "flags", flags || "—"));
    return row;
  }));
}

// Signals: model and symptom, the cases, the dealers, and the evidence by source.
export function renderSignals(list, signals, orgName) {
  list.replaceChildren(...signals.map((signal) => {
    const item = el("li", "signal");
    item.dataset.signal = signal.id;
    const head = el("div", "signal__head");
    head.append(el("strong", "signal__what", `${signal.vehicle_model} · ${signal.symptom_code}`),
      el("span", "badge", tf("cases", { n: signal.case_count })));
    const sources = el("p", "signal__sources");
    sources.append(...signal.sources.map((source) => {
      const chip = el("span", "source", `${t(`source_${source.kind}`)} ${source.count}`);
      chip.dataset.kind = source.kind;
      return chip;
    }));
    item.append(head, el("p", "signal__dealers", signal.dealer_codes.map(orgName).join(t("list_separator"))), sources);
    return item;
  }));
}

const rate = (value) => (value === null ? "—" : `${number(100 * value)}%`);

// `recalls`: the open ones of GET /v1/recalls (the org's figures), as listed; each is a button
// that `pick(code)` answers with its progress per dealer.
export function renderRecalls(table, recalls, selected, pick) {
  fill(table, [[t("recall"), false], [t("rate"), true], [t("completed"), true], [t("affected"), true]],
    recalls.map((recall) => {
      const row = el("tr", recall.code === selected ? "is-selected" : "");
      row.dataset.recall = recall.code;
      const button = el("button", "recall-pick");
      button.type = "button";
      button.setAttribute("aria-pressed", String(recall.code === selected));
      button.append(el("strong", "", recall.code), el("span", "", recall.title));
      button.addEventListener("click", () => pick(recall.code));
      const head = rowHead();
      head.append(button);
      row.append(head, el("td", "num strong", rate(recall.rate)), el("td", "num", String(recall.completed)),
        el("td", "num", String(recall.affected)));
      return row;
    }));
}

// `reply`: GET /v1/recalls/{code}/progress; the pooled figure first, then each dealer.
export function renderRecall(table, reply, orgName) {
  const total = el("tr", "is-selected");
  total.dataset.org = reply.org_code;
  total.append(rowHead(orgName(reply.org_code)), el("td", "num strong", rate(reply.rate)),
    el("td", "num", String(reply.completed)), el("td", "num", String(reply.affected)));
  fill(table, [[t("dealer"), false], [t("rate"), true], [t("completed"), true], [t("affected"), true]],
    [total, ...reply.items.map((item) => {
      const row = el("tr");
      row.dataset.org = item.dealer_code;
      row.append(rowHead(orgName(item.dealer_code)), el("td", "num strong", rate(item.rate)),
        el("td", "num", String(item.completed)), el("td", "num", String(item.affected)));
      return row;
    })]);
}

// Open requests, oldest first as listed; one whose answer is late (or was) is marked.
export function renderTechRequests(table, requests, orgName, now = Date.now()) {
  fill(table, [[t("number"), false], [t("dealer"), false], [t("priority"), false], [t("answer_due"), false]],
    requests.map((request) => {
      const row = el("tr");
      row.dataset.request = request.id;
      // Answers are due within hours to a few days: the time matters, not only the day.
      const due = el("td", "", new Date(request.answer_due).toLocaleString(currentLang(),
        { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }));
      if (request.breached || Date.parse(request.answer_due) < now) {
        row.classList.add("is-overdue");
        due.append(" ", el("span", "badge badge--miss", t("overdue_mark")));
      }
      row.append(rowHead(request.number), el("td", "", orgName(request.dealer_code)),
        el("td", "", request.priority), due);
      return row;
    }));
}
