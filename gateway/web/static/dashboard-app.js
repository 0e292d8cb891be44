// The dashboard: login, the organisation and period pickers, then every panel from the KPI API
// (figures, people, dealer evaluation, improvement plans, survey integrity, the quality loop) and
// the customer service (lifecycle and value segments, the latest campaign's result).
// State (org, period) lives in the URL fragment, so a view can be bookmarked or shared.

import * as api from "./dashboard-api.js";
import * as charts from "./dashboard-charts.js";
import { renderEvaluation, renderPlans } from "./dashboard-panels.js";
import { renderIntegrity, renderRecall, renderRecalls, renderSignals, renderTechRequests } from "./dashboard-quality.js";
import { renderCampaign, renderLifecycle } from "./dashboard-retention.js";
import { renderTiles } from "./dashboard-tiles.js";
import { KPIS, currentLang, defaultPeriod, local, periodKind, periodLabel, periodsOf, setLang, t, tf, trendRange } from "./dashboard-text.js";

const $ = (id) => document.getElementById(id);
const state = { orgs: new Map(), org: null, period: null, surveyKind: "csi", rankingKpi: "csi", scheme: null, data: null,
  recall: null, generation: 0 };

function showLogin(message) {
  api.session.clear();
  $("board").hidden = true;
  $("toolbar").hidden = true;
  $("logout").hidden = true;
  $("login-view").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("username").focus();
}

async function enter() {
  let orgs;
  try {
    orgs = await api.orgs();
  } catch (error) {
    return showLogin(error.status === 401 ? t("session_expired") : t("network_error"));
  }
  orgs.sort((a, b) => a.path.localeCompare(b.path));
  // The evaluation panel shows the first scheme the user may read; none (or no access): no panel.
  const schemes = await api.evaluationSchemes().catch(() => null);
  state.scheme = (schemes && schemes.items[0]) || null;
  state.orgs = new Map(orgs.map((org) => [org.code, org]));
  const wanted = new URLSearchParams(location.hash.slice(1));
  state.org = state.orgs.has(wanted.get("org")) ? wanted.get("org") : orgs[0] && orgs[0].code;
  const period = wanted.get("period");
  state.period = period && periodsOf(periodKind(period)).includes(period) ? period : defaultPeriod("month");
  $("login-view").hidden = true;
  $("toolbar").hidden = false;
  $("logout").hidden = false;
  $("board").hidden = false;
  fillPickers();
  await load();
}

function option(value, label) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  return node;
}

function fillPickers() {
  const rootDepth = Math.min(...[...state.orgs.values()].map((org) => org.path.split("/").length));
  $("org-picker").replaceChildren(...[...state.orgs.values()].map((org) => option(org.code,
    `${"\u3000".repeat(org.path.split("/").length - rootDepth)}${org.name} · ${t(`kind_${org.kind}`)}`)));
  $("org-picker").value = state.org;
  $("period-kind").value = periodKind(state.period);
  $("period-picker").replaceChildren(...periodsOf(periodKind(state.period)).map((p) => option(p, periodLabel(p))));
  $("period-picker").value = state.period;
  $("ranking-kpi").replaceChildren(...KPIS.map((kpi) => option(kpi, t(kpi))));
  $("ranking-kpi").value = state.rankingKpi;
  for (const button of document.querySelectorAll("[data-survey-kind]")) {
    button.setAttribute("aria-pressed", String(button.dataset.surveyKind === state.surveyKind));
  }
}

// Whether org `code` is `root` or below it (paths are "/OEM/D1/A1/").
function inSubtree(code, root) {
  const org = state.orgs.get(code);
  return Boolean(org) && org.path.startsWith(state.orgs.get(root).path);
}

// The parent the radar compares against, when the user may see it.
const parentOf = (code) => state.orgs.get(state.orgs.get(code)?.parent_code) || null;
// A dealer is ranked among its siblings; a region or the manufacturer ranks its own dealers.
function rankingScope(code) {
  const org = state.orgs.get(code);
  return org.kind === "dealer" && parentOf(code) ? parentOf(code).code : code;
}

async function fetchAll(org, period, surveyKind, rankingKpi) {
  const [from, to] = trendRange(period);
  const parent = parentOf(org);
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  const [summary, ranking, driversOwn, driversParent, complaints, people, evaluation, plans, integrity, signals, requests,
    lifecycle, campaign, recalls, ...trendList] = await Promise.all([
    settle(api.summary(org, period)),
    settle(api.rankings(rankingKpi, "dealer", rankingScope(org), period)),
    settle(api.drivers(surveyKind, org, period)),
    settle(parent ? api.drivers(surveyKind, parent.code, period) : Promise.resolve(null)),
    settle(api.complaints(org, period)),
    settle(api.people(org, period, "service_advisor", "csi")),
    settle(state.scheme ? api.evaluations(state.scheme.code, period, rankingScope(org), "dealer") : Promise.resolve(null)),
    settle(api.improvementPlans(org)),
    // The integrity report is by month: for a quarter or a year the panel is left out.
    settle(periodKind(period) === "month" ? api.surveyIntegrity(org, period) : Promise.resolve(null)),
    settle(api.qualitySignals()),
    settle(api.openTechRequests()),
    // Where customers stand now, whatever the period.
    settle(api.retention(org)),
    settle(api.latestCampaign((code) => inSubtree(code, org))),
    settle(api.recalls(org)),
    ...KPIS.map((kpi) => settle(api.trends(kpi, org, from, to))),
  ]);
  const trends = {};
  KPIS.forEach((kpi, i) => { trends[kpi] = pointsOf(trendList[i].value); });
  return { summary, ranking, driversOwn, driversParent, complaints, people, evaluation, plans, integrity, signals, requests,
    lifecycle, campaign, recalls, trends, parent };
}

function pointsOf(reply) {
  const points = (reply && (reply.points || reply.items)) || [];
  return points.map((p) => ({ period: p.period, value: p.value ?? null, n: p.n ?? null })).sort((a, b) => a.period.localeCompare(b.period));
}

async function load() {
  const generation = ++state.generation;
  history.replaceState(null, "", `#org=${encodeURIComponent(state.org)}&period=${encodeURIComponent(state.period)}`);
  $("board").classList.add("is-busy");
  const data = await fetchAll(state.org, state.period, state.surveyKind, state.rankingKpi);
  if (generation !== state.generation) return;  // a newer choice was made meanwhile
  const errors = [data.summary, data.ranking, data.complaints].map((r) => r.error).filter(Boolean);
  if (errors.some((e) => e.status === 401)) return showLogin(t("session_expired"));
  state.data = data;
  $("board").classList.remove("is-busy");
  document.body.classList.remove("is-loading");
  render();
}

function render() {
  const data = state.data;
  if (!data) return;
  const org = state.orgs.get(state.org);
  $("org-name").textContent = org ? org.name : state.org;
  $("period-name").textContent = periodLabel(state.period);
  const down = [data.summary, data.ranking, data.complaints].some((r) => r.error && r.error.status >= 500);
  $("banner").hidden = !down;
  $("banner").textContent = down ? `${t("kpi_unavailable")} — ${t("kpi_unavailable_hint")}` : "";
  renderTiles($("tiles"), data.summary.value ? data.summary.value.kpis : null, data.trends);
  renderRanking(data.ranking.value);
  renderTrends(data.trends);
  renderFactors(data);
  renderComplaints(data.complaints.value);
  renderPeople(data.people.value);
  renderEvaluationCard(data.evaluation.value);
  renderPlansCard(data.plans.value);
  renderIntegrityCard(data.integrity.value);
  renderQualityCard(data.signals.value, data.requests.value, data.recalls.value);
  renderLifecycleCard(data.lifecycle.value);
  renderCampaignCard(data.campaign.value);
  document.body.dataset.rendered = `${state.org}|${state.period}|${currentLang()}`;
}

function renderRanking(reply) {
  const items = ((reply && reply.items) || []).filter((item) => item.value !== null && item.value !== undefined);
  const el = $("chart-ranking");
  if (!items.length) return charts.showEmpty(el);
  el.style.height = `${Math.max(220, items.length * 34 + 40)}px`;
  const labelWidth = Math.min(160, Math.max(80, el.parentElement.clientWidth * 0.3));
  charts.showChart(el, charts.rankingOption(state.rankingKpi, items, state.org, labelWidth));
}

function renderTrends(trends) {
  const series = {};
  for (const kpi of ["csi", "ssi", "nps"]) if (trends[kpi].some((p) => p.value !== null)) series[kpi] = trends[kpi];
  if (!Object.keys(series).length) return charts.showEmpty($("chart-trends"));
  charts.showChart($("chart-trends"), charts.trendsOption(series));
}

function factorsOf(reply) {
  const list = (reply && (reply.factors || reply.items)) || [];
  const flagged = new Set(Array.isArray(reply && reply.improve_first) ? reply.improve_first : []);
  return list.map((f) => {
    const code = f.factor ?? f.code;
    const known = t(`factor_${code}`);
    const name = local(f.title ?? f.name, known.startsWith("factor_") ? code : known);
    return { code, name, performance: f.performance ?? null, importance: f.importance ?? null,
      improveFirst: f.improve_first === true || f.quadrant === "improve_first" || flagged.has(code) };
  });
}

function renderFactors(data) {
  const own = factorsOf(data.driversOwn.value).filter((f) => f.performance !== null);
  const parentFactors = factorsOf(data.driversParent.value).filter((f) => f.performance !== null);
  // A parent the user may not see (their own org's) is named as such; the manufacturer has none.
  const hidden = !data.parent && Boolean(state.orgs.get(state.org)?.parent_code);
  const note = $("radar-note");
  note.hidden = !hidden;
  note.textContent = hidden ? t("parent_unavailable") : "";
  if (own.length < 3) {
    charts.showEmpty($("chart-radar"));
  } else {
    const scores = (list) => new Map(list.map((f) => [f.code, f.performance]));
    const parent = data.parent && parentFactors.length ? { name: data.parent.name, scores: scores(parentFactors) } : null;
    charts.showChart($("chart-radar"), charts.radarOption(own, { name: state.orgs.get(state.org).name, scores: scores(own) }, parent));
  }
  const ranked = own.filter((f) => f.importance !== null);
  const improve = $("improve-first");
  if (ranked.length < 2) {
    improve.textContent = "";
    return charts.showEmpty($("chart-drivers"), own.length ? t("drivers_need") : t("no_data_hint"));
  }
  charts.showChart($("chart-drivers"), charts.driversOption(ranked));
  const first = ranked.filter((f) => f.improveFirst).map((f) => f.name);
  improve.replaceChildren();
  const label = document.createElement("strong");
  label.textContent = `${t("improve_first")}: `;
  improve.append(label, document.createTextNode(first.length ? first.join(t("list_separator")) : t("none_to_improve")));
}

function categoryName(code) {
  const known = t(`category_${code}`);
  return known.startsWith("category_") ? code : known;
}

function categoriesOf(byCategory) {
  if (Array.isArray(byCategory)) return byCategory.map((c) => ({ category: String(c.category ?? c.name), count: Number(c.count ?? c.value ?? 0) }));
  return Object.entries(byCategory || {}).map(([category, count]) => ({ category, count: Number(count) }));
}

function renderComplaints(reply) {
  $("complaints-open").textContent = reply && reply.open != null ? String(reply.open) : "—";
  $("complaints-breached").textContent = reply && reply.breached != null ? String(reply.breached) : "—";
  const categories = categoriesOf(reply && reply.by_category).filter((c) => c.count > 0);
  if (!categories.length) return charts.showEmpty($("chart-complaints"));
  $("chart-complaints").style.height = `${Math.max(160, categories.length * 30 + 20)}px`;
  charts.showChart($("chart-complaints"), charts.complaintsOption(categories.map((c) => ({ ...c, category: categoryName(c.category) }))));
}

const orgName = (code) => state.orgs.get(code)?.name || code;

// A region or the manufacturer can have hundreds of advisors: one chart shows this many at most.
const MAX_PEOPLE = 30;

// Ranked people by rank, then the unranked (below the minimum n) by value.
function peopleInOrder(items) {
  const ranked = items.filter((p) => p.rank !== null).sort((a, b) => a.rank - b.rank);
  const unranked = items.filter((p) => p.rank === null).sort((a, b) => b.value - a.value);
  return [...ranked, ...unranked];
}

// A panel whose read failed or is not for this user (null) is left out, not shown as an error.
function renderPeople(reply) {
  $("card-people").hidden = !reply;
  if (!reply) return;
  const everyone = peopleInOrder(reply.items.filter((item) => item.value !== null));
  const items = everyone.slice(0, MAX_PEOPLE);
  $("people-cut").hidden = everyone.length <= MAX_PEOPLE;
  $("people-cut").textContent = tf("people_top", { shown: items.length, total: everyone.length });
  const el = $("chart-people");
  if (!items.length) return charts.showEmpty(el, t("people_none"));
  el.style.height = `${Math.max(180, items.length * 30 + 40)}px`;
  const labelWidth = Math.min(160, Math.max(72, el.parentElement.clientWidth * 0.25));
  charts.showChart(el, charts.peopleOption("csi", items, orgName, labelWidth));
}

function renderEvaluationCard(reply) {
  $("card-evaluation").hidden = !reply;
  if (!reply) return;
  $("evaluation-none").hidden = reply.items.length > 0;
  $("evaluation-table").hidden = !reply.items.length;
  renderEvaluation($("evaluation-table"), $("evaluation-caption"), reply, state.scheme, orgName, state.org);
}

function renderPlansCard(plans) {
  $("card-plans").hidden = !plans;
  if (!plans) return;
  const open = plans.filter((plan) => plan.status !== "closed");
  $("plans-none").hidden = open.length > 0;
  renderPlans($("plans-list"), open, orgName, state.org);
}

function renderIntegrityCard(reply) {
  $("card-integrity").hidden = !reply;
  if (!reply) return;
  $("integrity-none").hidden = reply.dealers.length > 0;
  $("integrity-table").hidden = !reply.dealers.length;
  renderIntegrity($("integrity-table"), reply, orgName);
}

// Signals and requests are the caller's subtree's, recalls the chosen org's, whatever the period;
// the card is left out when the user may read none of them.
function renderQualityCard(signals, requests, recalls) {
  $("card-quality").hidden = !signals && !requests && !recalls;
  $("quality-signals").hidden = !signals;
  if (signals) {
    $("signals-none").hidden = signals.items.length > 0;
    renderSignals($("signals-list"), signals.items, orgName);
  }
  $("quality-requests").hidden = !requests;
  if (requests) {
    $("requests-none").hidden = requests.items.length > 0;
    $("requests-table").hidden = !requests.items.length;
    renderTechRequests($("requests-table"), requests.items, orgName);
  }
  renderRecallsSection(recalls);
}

// Open: a VIN of the org's subtree still waits for its remedy. The recall picked stays picked
// while it is listed (another org, another language); its per-dealer table follows the org.
function renderRecallsSection(recalls) {
  $("quality-recalls").hidden = !recalls;
  const open = (recalls || []).filter((recall) => recall.completed < recall.affected);
  if (!open.some((recall) => recall.code === state.recall)) state.recall = null;
  $("recalls-none").hidden = open.length > 0;
  $("recalls-table").hidden = !open.length;
  renderRecalls($("recalls-table"), open, state.recall, (code) => {
    state.recall = code;
    renderRecallsSection(recalls);
  });
  $("recall-title").hidden = true;
  $("recall-table").hidden = true;
  if (state.recall) showRecall();
}

function renderLifecycleCard(reply) {
  $("card-lifecycle").hidden = !reply;
  if (!reply) return;
  renderLifecycle({ total: $("customers-total"), chart: $("chart-lifecycle"), segments: $("segments-list"),
    unscored: $("segments-unscored") }, reply);
}

function renderCampaignCard(latest) {
  $("card-campaign").hidden = !latest;
  if (!latest) return;
  renderCampaign({ none: $("campaign-none"), result: $("campaign-result"), name: $("campaign-name"),
    launched: $("campaign-launched"), sent: $("campaign-sent"), holdout: $("campaign-holdout"),
    uplift: $("campaign-uplift"), window: $("campaign-window") }, latest);
}

async function showRecall() {
  const code = state.recall;
  let reply;
  try {
    reply = await api.recallProgress(code, state.org);
  } catch (error) {
    reply = null;
  }
  if (code !== state.recall) return;  // another recall was picked meanwhile
  $("recall-title").hidden = !reply;
  $("recall-title").textContent = tf("recall_dealers", { code });
  $("recall-table").hidden = !reply;
  if (reply) renderRecall($("recall-table"), reply, orgName);
}

function wire() {
  $("login-form").addEventListener("submit", (event) => api.submitLogin(event, api.login, enter, t));
  $("logout").addEventListener("click", () => { showLogin(); });
  $("lang-switch").addEventListener("click", () => {
    setLang(currentLang() === "zh-CN" ? "en" : "zh-CN");
    if (state.orgs.size) fillPickers();
    render();
  });
  $("org-picker").addEventListener("change", (e) => { state.org = e.target.value; load(); });
  $("period-kind").addEventListener("change", (e) => {
    state.period = defaultPeriod(e.target.value);
    fillPickers();
    load();
  });
  $("period-picker").addEventListener("change", (e) => { state.period = e.target.value; load(); });
  $("ranking-kpi").addEventListener("change", async (e) => {
    state.rankingKpi = e.target.value;
    load();
  });
  for (const button of document.querySelectorAll("[data-survey-kind]")) {
    button.addEventListener("click", () => { state.surveyKind = button.dataset.surveyKind; fillPickers(); load(); });
  }
}

function boot() {
  setLang(currentLang());
  wire();
  if (api.session.token) enter(); else showLogin();
}

// echarts is a classic deferred script: it has run before any module executes.
boot();
