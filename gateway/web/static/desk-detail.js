// The person behind a call: who they are, their cars and last visit, their cases and every contact.

import { day, el, fill, label, list, t, when } from "./desk-text.js";

const newestFirst = (key) => (a, b) => String(b[key] || "").localeCompare(String(a[key] || ""));

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))));
}

// `person`: the customer or prospect as the API showed it; `call`: the follow-up, when one is open.
export function renderPerson(card, person, call, isProspect) {
  const heading = el("header", { class: "person__head" },
    el("h2", { id: "person-name" }, person ? person.name : "—"),
    el("span", { class: `tag${isProspect ? " tag--soft" : ""}` }, t(isProspect ? "prospect" : "customer")),
    call ? el("span", { class: "tag tag--blue" }, label("kind", call.kind)) : null);
  const about = person ? facts([
    [t("phone"), person.phone],
    [t("city"), person.city],
    [t("level"), isProspect ? [person.level, person.intended_model].filter(Boolean).join(" · ") : null],
    [t("dealer"), person.dealer_code],
  ]) : null;
  const task = call ? el("p", { class: "person__call", id: "call-summary" },
    [`${t("due")} ${when(call.due_at)}`, fill("attempts", { n: call.attempts ?? 0, max: call.max_attempts ?? 3 }),
      `${t("status")}: ${label("status", call.status)}`, call.vin, call.ro_number && `${t("ro")} ${call.ro_number}`]
      .filter(Boolean).join(" · ")) : null;
  card.replaceChildren(heading, about || "", task || "");
}

function section(title, body) {
  return [el("h2", { class: "card__title" }, title), body];
}

function emptyLine(key) {
  return el("p", { class: "muted" }, t(key));
}

export function renderVehicles(card, view) {
  const vehicles = view.vehicles || [];
  const visits = [...(view.visits || [])].sort(newestFirst("opened_at"));
  const last = visits[0];
  card.replaceChildren(
    ...section(t("vehicles"), vehicles.length ? el("ul", { class: "lines" }, vehicles.map((v) => el("li", {},
      el("strong", {}, [v.model, v.model_year].filter(Boolean).join(" ")),
      el("span", { class: "muted" }, ` ${[v.plate, v.vin].filter(Boolean).join(" · ")}`)))) : emptyLine("no_vehicles")),
    ...section(t("last_visit"), last ? el("div", { class: "visit", id: "last-visit" },
      el("strong", {}, `${label("visit", last.visit_type)} · ${day(last.closed_at || last.opened_at)}`),
      facts([[t("ro"), last.ro_number], [t("advisor"), last.advisor],
        [t("mileage"), last.mileage_km != null ? `${last.mileage_km.toLocaleString()} ${t("unit_km")}` : null],
        [t("vin"), last.vin]])) : emptyLine("no_visit")),
    ...section(t("appointments"), appointmentLines(view.appointments)),
  );
}

// The latest few appointments, the next one first when one is booked.
function appointmentLines(appointments) {
  const sorted = [...(appointments || [])].sort(newestFirst("slot_at")).slice(0, 3);
  if (!sorted.length) return emptyLine("no_appointments");
  return el("ul", { class: "lines", id: "appointments" }, sorted.map((a) => el("li", {},
    el("strong", {}, when(a.slot_at)), ` ${[label("visit", a.service_type), a.advisor].filter(Boolean).join(" · ")} `,
    el("span", { class: `tag${a.status === "no_show" ? " tag--red" : a.status === "booked" ? " tag--blue" : ""}` },
      label("appointment", a.status)))));
}

export function renderComplaints(card, complaints) {
  const sorted = [...(complaints || [])].sort(newestFirst("opened_at"));
  card.replaceChildren(...section(t("complaints"), sorted.length ? el("ul", { class: "lines" }, sorted.map((c) => el("li", {},
    el("strong", {}, c.number), ` ${label("category", c.category)} · ${c.priority} · `,
    el("span", { class: `tag${["resolved", "closed"].includes(c.status) ? "" : " tag--red"}` }, label("complaint", c.status)))))
    : emptyLine("no_complaints")));
}

export function renderHistory(card, interactions) {
  const sorted = [...(interactions || [])].sort(newestFirst("started_at"));
  card.replaceChildren(...section(t("history"), sorted.length ? el("ol", { class: "timeline", id: "history" }, sorted.map((i) =>
    el("li", {},
      el("div", { class: "timeline__head" },
        el("time", { datetime: i.started_at }, when(i.started_at)),
        el("span", {}, [label("direction", i.direction), label("channel", i.channel), label("reason", i.reason),
          i.agent].filter(Boolean).join(" · "))),
      i.summary ? el("p", { class: "timeline__text" }, i.summary) : null)))
    : emptyLine("no_history")));
}

// Parts of the 360 view the desk shows.
const SHOWN_PARTS = ["vehicles", "visits", "complaints", "interactions", "appointments"];

// Parts a service could not give right now (or this user may not read), named so the agent knows.
export function unavailableNote(parts) {
  const missing = (parts || []).filter((part) => SHOWN_PARTS.includes(part));
  if (!missing.length) return null;
  return el("p", { class: "notice" }, t("unavailable") + list(missing.map((part) => t(`part_${part}`))));
}

// The result of the attempt just saved, and the case a dissatisfied call opened.
export function renderOutcome(box, outcome) {
  if (!outcome) {
    box.hidden = true;
    return box.replaceChildren();
  }
  const call = outcome.call;
  const message = call.status === "done" ? t("saved_done")
    : call.status === "unreachable" ? fill("saved_unreachable", { max: call.max_attempts ?? 3 })
      : fill("saved_open", { n: call.attempts ?? 0, max: call.max_attempts ?? 3 });
  const parts = [el("p", { class: `outcome__line outcome--${call.status}`, id: "outcome-text" }, message)];
  if (outcome.caseState === "waiting") parts.push(el("p", { class: "outcome__case muted", id: "case-waiting" }, t("case_waiting")));
  if (outcome.caseState === "late") parts.push(el("p", { class: "outcome__case notice" }, t("case_late")));
  if (outcome.caseState === "opened") {
    const c = outcome.complaint || {};
    parts.push(el("div", { class: "case", id: "case" },
      el("p", { class: "case__title" }, `${t("case_opened")} `, el("strong", { id: "case-number" }, c.number || outcome.complaintId)),
      c.number ? facts([
        [t("category"), label("category", c.category)],
        [t("priority"), c.priority],
        [t("status"), label("complaint", c.status)],
        [t("resolution_due"), when(c.resolution_due)],
      ]) : null));
  }
  box.replaceChildren(...parts);
  box.dataset.status = call.status;
  box.hidden = false;
}
