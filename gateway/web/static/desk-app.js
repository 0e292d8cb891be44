// The desk: sign in, today's calls, one call's customer and history, recording an attempt, the
// case a dissatisfied call opens, and the screen pop. The open call or customer lives in the URL
// fragment (#followup=… or #customer=…), so a reload comes back to it.

import { submitLogin } from "/ui/static/dashboard-api.js";
import * as api from "./desk-api.js";
import { attemptBody, resetAttemptForm, showAttemptError, syncAttemptForm } from "./desk-attempt.js";
import { renderCalls, renderLookup } from "./desk-calls.js";
import { renderComplaints, renderHistory, renderOutcome, renderPerson, renderVehicles, unavailableNote } from "./desk-detail.js";
import { applyLang, currentLang, endOfToday, t } from "./desk-text.js";

const $ = (id) => document.getElementById(id);
// How long a dissatisfied call's case is waited for: the complaint service opens it from an event.
const CASE_WAIT_MS = 20_000;
const CASE_POLL_MS = 800;
// Calls assigned meanwhile (by hand, or by the desk settings to new tasks) show up without a click.
const LIST_REFRESH_MS = 60_000;

const state = {
  me: null,
  calls: [],
  people: new Map(), // customer or prospect id -> {name, phone}, as the API showed them
  lookup: null,
  open: null, // {followUpId, customerId, prospectId, call, person, view, interactions}
  outcome: null, // {call, caseState: waiting|opened|late, complaintId, complaint}
  generation: 0,
};

// --- sign-in -----------------------------------------------------------------------------------

function showLogin(message) {
  api.logout();
  state.me = null;
  $("desk").hidden = true;
  $("logout").hidden = true;
  $("agent").hidden = true;
  $("login-view").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("username").focus();
}

// A 401 anywhere means the token expired or was revoked: back to the sign-in.
function failed(error) {
  if (error && error.status === 401) showLogin(t("session_expired"));
  return error;
}

async function enter() {
  state.me = api.me();
  if (!state.me) return showLogin();
  $("login-view").hidden = true;
  $("desk").hidden = false;
  $("logout").hidden = false;
  renderAgent();
  await Promise.all([loadCalls(), openFromHash()]);
}

function renderAgent() {
  const me = state.me;
  $("agent").hidden = !me;
  if (me) $("agent").textContent = `${t("agent")} ${me.staff_code || me.username}`;
}

// --- today's calls -----------------------------------------------------------------------------

async function loadCalls() {
  const staffCode = state.me && state.me.staff_code;
  $("no-staff").hidden = Boolean(staffCode);
  $("calls-error").hidden = true;
  if (!staffCode) {
    state.calls = [];
    return renderCallList();
  }
  try {
    state.calls = await api.calls(staffCode, endOfToday());
  } catch (error) {
    if (failed(error).status === 401) return;
    $("calls-error").textContent = t("network_error");
    $("calls-error").hidden = false;
    return;
  }
  renderCallList();
  await learnPeople(state.calls);
  renderCallList();
}

// The names and phones the call list shows: one read per person not yet known, in parallel.
async function learnPeople(calls) {
  const wanted = new Map();
  for (const call of calls) {
    if (call.customer_id && !state.people.has(call.customer_id)) wanted.set(call.customer_id, () => api.customer(call.customer_id));
    else if (call.prospect_id && !state.people.has(call.prospect_id)) wanted.set(call.prospect_id, () => api.prospect(call.prospect_id));
  }
  await Promise.all([...wanted].map(async ([id, read]) => {
    try {
      const person = await read();
      state.people.set(id, { name: person.name, phone: person.phone });
    } catch (error) {
      if (failed(error).status !== 401) state.people.set(id, { name: "—", phone: null });
    }
  }));
}

function renderCallList() {
  const openId = state.open && state.open.followUpId;
  renderCalls($("calls"), state.calls, state.people, openId);
  $("calls-count").textContent = state.me && state.me.staff_code ? String(state.calls.length) : "";
  $("calls-empty").hidden = !(state.me && state.me.staff_code) || state.calls.length > 0;
  document.body.dataset.calls = String(state.calls.length);
}

// --- one call, or one customer -------------------------------------------------------------------

async function openFollowUp(followUpId) {
  const generation = ++state.generation;
  history.replaceState(null, "", `#followup=${encodeURIComponent(followUpId)}`);
  state.outcome = null;
  showDetail({ followUpId });
  let call;
  try {
    call = state.calls.find((c) => c.id === followUpId) || await api.followUp(followUpId);
  } catch (error) {
    if (failed(error).status !== 401 && generation === state.generation) closeDetail();
    return;
  }
  await loadPerson(generation, { followUpId, call, customerId: call.customer_id, prospectId: call.prospect_id });
}

async function openCustomer(customerId) {
  const generation = ++state.generation;
  history.replaceState(null, "", `#customer=${encodeURIComponent(customerId)}`);
  state.outcome = null;
  showDetail({});
  await loadPerson(generation, { customerId });
}

async function loadPerson(generation, open) {
  let person = null;
  let view = { vehicles: [], visits: [], complaints: [], interactions: [], unavailable: [] };
  try {
    if (open.customerId) {
      view = await api.customer360(open.customerId);
      person = view.customer;
    } else if (open.prospectId) {
      const [prospect, contacts] = await Promise.all([api.prospect(open.prospectId),
        api.interactions({ prospect_id: open.prospectId })]);
      person = prospect;
      view = { ...view, interactions: contacts.items };
    }
  } catch (error) {
    failed(error);
  }
  if (generation !== state.generation) return; // another call was opened meanwhile
  state.open = { ...open, person, view };
  if (person) state.people.set(open.customerId || open.prospectId, { name: person.name, phone: person.phone });
  renderDetail();
  renderCallList();
}

function showDetail(open) {
  state.open = { ...open, loading: true };
  document.body.classList.add("has-detail");
  $("detail-empty").hidden = true;
  $("detail-body").hidden = false;
  $("detail-body").classList.add("is-busy");
  resetAttemptForm($("attempt-form"));
  renderOutcome($("outcome"), null);
}

function closeDetail() {
  state.generation++;
  state.open = null;
  state.outcome = null;
  history.replaceState(null, "", location.pathname + location.search);
  document.body.classList.remove("has-detail");
  $("detail-body").hidden = true;
  $("detail-empty").hidden = false;
  delete document.body.dataset.open;
  renderCallList();
}

function renderDetail() {
  const open = state.open;
  if (!open || open.loading) return;
  $("detail-body").classList.remove("is-busy");
  const isProspect = !open.customerId && Boolean(open.prospectId);
  renderPerson($("person"), open.person, open.call, isProspect);
  const note = unavailableNote(open.view.unavailable);
  if (note) $("person").append(note);
  $("attempt-form").hidden = !(open.call && open.call.status === "open");
  renderOutcome($("outcome"), state.outcome);
  $("vehicles-card").hidden = isProspect;
  $("complaints-card").hidden = isProspect;
  renderVehicles($("vehicles-card"), open.view);
  renderComplaints($("complaints-card"), open.view.complaints);
  renderHistory($("history-card"), open.view.interactions);
  document.body.dataset.open = open.followUpId || open.customerId || open.prospectId || "";
}

// --- recording an attempt ------------------------------------------------------------------------

async function onAttempt(event) {
  event.preventDefault();
  const form = event.target;
  const open = state.open;
  if (!open || !open.call) return;
  const { body, error } = attemptBody(form, state.me.staff_code, open.call.kind);
  showAttemptError(form, error);
  if (error) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  state.outcome = null; // the last attempt's result goes while this one is saved
  renderOutcome($("outcome"), null);
  let call;
  try {
    call = await api.recordAttempt(open.call.id, body);
  } catch (failure) {
    const words = { 403: "no_write", 409: "not_open" };
    if (failed(failure).status !== 401) showAttemptError(form, t(words[failure.status] || "save_failed"));
    return;
  } finally {
    button.disabled = false;
  }
  const generation = state.generation;
  open.call = call;
  state.outcome = { call, caseState: body.satisfaction === "dissatisfied" ? "waiting" : null };
  resetAttemptForm(form);
  renderDetail();
  loadCalls();
  await refreshHistory(generation, open);
  if (state.outcome && state.outcome.caseState === "waiting") await waitForCase(generation, call);
}

// The attempt recorded a contact: the history shows it.
async function refreshHistory(generation, open) {
  try {
    const contacts = await api.interactions(open.customerId ? { customer_id: open.customerId } : { prospect_id: open.prospectId });
    if (generation !== state.generation) return;
    open.view = { ...open.view, interactions: contacts.items };
    renderDetail();
  } catch (error) {
    failed(error);
  }
}

// The complaint service opens the case from the follow-up's event; the follow-up then names it.
async function waitForCase(generation, call) {
  const deadline = Date.now() + CASE_WAIT_MS;
  let complaintId = call.complaint_id;
  while (!complaintId && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, CASE_POLL_MS));
    if (generation !== state.generation) return;
    try {
      complaintId = (await api.followUp(call.id)).complaint_id;
    } catch (error) {
      if (failed(error).status === 401) return;
    }
  }
  if (generation !== state.generation) return;
  if (!complaintId) {
    state.outcome = { ...state.outcome, caseState: "late" };
    return renderDetail();
  }
  let complaint = null;
  try {
    complaint = await api.complaint(complaintId);
  } catch (error) {
    failed(error); // without complaints:read the case is named by its id only
  }
  if (generation !== state.generation) return;
  state.outcome = { ...state.outcome, caseState: "opened", complaintId, complaint };
  if (complaint && state.open.view.complaints) {
    state.open.view = { ...state.open.view, complaints: [complaint, ...state.open.view.complaints.filter((c) => c.id !== complaint.id)] };
  }
  renderDetail();
}

// --- the screen pop ----------------------------------------------------------------------------

async function onLookup(event) {
  event.preventDefault();
  const phone = $("pop-phone").value.trim();
  const results = $("pop-results");
  if (!/\d{3,}/.test(phone.replace(/[\s()+-]/g, ""))) {
    state.lookup = null;
    return results.replaceChildren(Object.assign(document.createElement("p"), { className: "login__error", textContent: t("lookup_invalid") }));
  }
  results.classList.add("is-busy");
  try {
    state.lookup = await api.lookup(phone);
    renderLookup(results, state.lookup);
  } catch (error) {
    if (failed(error).status === 401) return;
    state.lookup = null;
    results.replaceChildren(Object.assign(document.createElement("p"), { className: "login__error",
      textContent: error.status === 422 || error.status === 400 ? t("lookup_invalid") : t("network_error") }));
  } finally {
    results.classList.remove("is-busy");
    document.body.dataset.lookup = phone;
  }
}

// --- wiring ------------------------------------------------------------------------------------

function openFromHash() {
  const wanted = new URLSearchParams(location.hash.slice(1));
  if (wanted.get("followup")) return openFollowUp(wanted.get("followup"));
  if (wanted.get("customer")) return openCustomer(wanted.get("customer"));
  return null;
}

function onPick(event) {
  const target = event.target.closest("[data-followup], button[data-customer]");
  if (!target) return;
  if (target.dataset.followup) openFollowUp(target.dataset.followup);
  else openCustomer(target.dataset.customer);
  $("detail").scrollIntoView({ block: "start", behavior: "smooth" });
}

function wire() {
  $("login-form").addEventListener("submit", (event) => submitLogin(event, api.login, enter, t));
  $("logout").addEventListener("click", () => { closeDetail(); showLogin(); });
  $("lang-switch").addEventListener("click", () => {
    applyLang(currentLang() === "zh-CN" ? "en" : "zh-CN");
    renderAgent();
    renderCallList();
    renderDetail();
    if (state.lookup) renderLookup($("pop-results"), state.lookup);
  });
  $("refresh").addEventListener("click", () => loadCalls());
  $("calls").addEventListener("click", onPick);
  $("pop-results").addEventListener("click", onPick);
  $("pop-form").addEventListener("submit", onLookup);
  $("back").addEventListener("click", closeDetail);
  $("attempt-form").addEventListener("change", () => syncAttemptForm($("attempt-form")));
  $("attempt-form").addEventListener("submit", onAttempt);
}

function boot() {
  applyLang(currentLang());
  wire();
  syncAttemptForm($("attempt-form"));
  if (api.me()) enter(); else showLogin();
  setInterval(() => {
    if (state.me && document.visibilityState === "visible") loadCalls();
  }, LIST_REFRESH_MS);
}

boot();
