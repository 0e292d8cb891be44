// The call list and the screen-pop results: what an agent scans, one line or card per person.

import { el, fill, label, t, when } from "./desk-text.js";

const isOverdue = (call, now) => new Date(call.due_at) < now;

// `people`: Map of customer or prospect id -> {name, phone} as the API showed them (masked or not).
// A user above the dealer (an agent of several dealers' calls) sees each call's dealer too.
export function renderCalls(container, calls, people, openId, now = new Date()) {
  const manyDealers = new Set(calls.map((call) => call.dealer_code)).size > 1;
  container.replaceChildren(...calls.map((call) => {
    const person = people.get(call.customer_id || call.prospect_id);
    const overdue = isOverdue(call, now);
    return el("li", {},
      el("button", { type: "button", class: `call${overdue ? " call--overdue" : ""}`, dataset: { followup: call.id },
        "aria-current": call.id === openId ? "true" : null },
        el("span", { class: "call__due" }, el("time", { datetime: call.due_at }, when(call.due_at, now)),
          overdue ? el("span", { class: "tag tag--red" }, t("overdue")) : null),
        el("span", { class: "call__who" }, el("strong", { class: "call__name" }, person ? person.name : "…"),
          el("span", { class: "tag" }, label("kind", call.kind))),
        el("span", { class: "call__meta" },
          [manyDealers && call.dealer_code, person && person.phone, call.vin || call.ro_number,
            fill("attempts", { n: call.attempts ?? 0, max: call.max_attempts ?? 3 })].filter(Boolean).join(" · "))));
  }));
}

function followUpButtons(followUps, now) {
  if (!followUps || !followUps.length) return el("span", { class: "muted" }, t("none"));
  return el("ul", { class: "hit__list" }, followUps.map((call) => el("li", {},
    el("button", { type: "button", class: "link", dataset: { followup: call.id } },
      `${label("kind", call.kind)} · ${t("due")} ${when(call.due_at, now)}${call.assignee ? ` · ${call.assignee}` : ""}`))));
}

function complaintLines(complaints) {
  if (!complaints || !complaints.length) return el("span", { class: "muted" }, t("none"));
  return el("ul", { class: "hit__list" }, complaints.map((c) => el("li", { class: "hit__case" },
    el("strong", {}, c.number || "—"), ` ${label("category", c.category)} · ${c.priority || ""} · ${label("complaint", c.status)}`)));
}

function visitLine(visit) {
  if (!visit) return el("span", { class: "muted" }, t("none"));
  return el("span", {}, [when(visit.closed_at || visit.opened_at), label("visit", visit.visit_type), visit.ro_number,
    visit.advisor].filter(Boolean).join(" · "));
}

function row(name, value) {
  return el("div", { class: "hit__row" }, el("dt", {}, name), el("dd", {}, value));
}

// The screen pop's answer: customers first (with the open cases), then prospects.
export function renderLookup(container, found, now = new Date()) {
  const customers = found.customers || [];
  const prospects = found.prospects || [];
  if (!customers.length && !prospects.length) {
    return container.replaceChildren(el("p", { class: "muted pop__none" }, t("lookup_none")));
  }
  const cards = [
    ...customers.map((c) => el("article", { class: "hit", dataset: { customer: c.id } },
      el("header", { class: "hit__head" },
        el("span", {}, el("strong", {}, c.name), " ", el("span", { class: "muted" }, c.phone || "")),
        el("span", { class: "tag" }, t("customer"))),
      el("dl", {},
        row(t("last_visit"), visitLine(c.last_visit)),
        row(t("open_followups"), followUpButtons(c.open_followups, now)),
        row(t("open_complaints"), complaintLines(c.open_complaints))),
      el("button", { type: "button", class: "ghost-button", dataset: { customer: c.id } }, t("view_customer")))),
    ...prospects.map((p) => el("article", { class: "hit", dataset: { prospect: p.id } },
      el("header", { class: "hit__head" },
        el("span", {}, el("strong", {}, p.name), " ", el("span", { class: "muted" }, p.phone || "")),
        el("span", { class: "tag tag--soft" }, t("prospect"))),
      el("dl", {},
        row(t("level"), [p.level, p.intended_model].filter(Boolean).join(" · ") || "—"),
        row(t("open_followups"), followUpButtons(p.open_followups, now))))),
  ];
  container.replaceChildren(...cards);
}
