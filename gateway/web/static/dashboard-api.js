// The public API as the dashboard uses it: login, the org subtree, the KPI reads, people,
// dealer evaluation, improvement plans, survey integrity, the quality loop, and where customers
// stand with the latest campaign's result.
// The access token lives in sessionStorage (gone when the tab closes) and goes out as
// `Authorization: Bearer` on every call; a 401 clears it and asks for a new login.

const TOKEN_KEY = "csloop.dashboard.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export const session = {
  get token() {
    const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    return saved && saved.expires > Date.now() ? saved.token : null;
  },
  save(token, expiresIn) {
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expires: Date.now() + expiresIn * 1000 }));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

// One call of the public API with the session's token; also the desk's (desk-api.js).
export async function request(path, { method = "GET", body, auth = true, idempotent = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${session.token}`;
  // A create retried after a lost answer must not make its record twice.
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "network");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && (data.detail || data.title));
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) search.set(key, value);
  return search.toString();
}

// The sign-in answer (token, expiry, and who signed in), its token kept for the session.
export async function login(username, password) {
  const data = await request("/v1/auth/login", { method: "POST", body: { username, password }, auth: false });
  session.save(data.access_token, data.expires_in);
  return data;
}

// A page's sign-in form: `signIn(username, password)`, then `enter()`; a failure is shown in
// #login-error in the page's words (`t`).
export async function submitLogin(event, signIn, enter, t) {
  event.preventDefault();
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await signIn(document.getElementById("username").value.trim(), document.getElementById("password").value);
    document.getElementById("password").value = "";
    await enter();
  } catch (error) {
    const key = error.status === 401 || error.status === 422 ? "login_failed" : error.status === 429 ? "login_busy" : "network_error";
    document.getElementById("login-error").textContent = t(key);
    document.getElementById("login-error").hidden = false;
  } finally {
    button.disabled = false;
  }
}

export async function orgs() {
  const all = [];
  let cursor = null;
  do {
    const page = await request(`/v1/orgs?${query({ limit: 500, cursor })}`);
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

// A KPI read that has nothing to show (404: unknown to the service) is null, not an error.
async function kpi(path, params) {
  try {
    return await request(`/v1/kpi/${path}?${query(params)}`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export const summary = (org, period) => kpi("summary", { org_code: org, period });
export const rankings = (kpiName, level, org, period) => kpi("rankings", { kpi: kpiName, level, org_code: org, period });
export const trends = (kpiName, org, from, to) => kpi("trends", { kpi: kpiName, org_code: org, from, to });
export const drivers = (kind, org, period) => kpi("drivers", { kind, org_code: org, period });
export const complaints = (org, period) => kpi("complaints", { org_code: org, period });

// A panel's read: null when the endpoint is not there for this user (403: the role may not read
// it; 404: not offered), so the panel is left out instead of showing an error.
async function panel(path) {
  try {
    return await request(path);
  } catch (error) {
    if (error.status === 403 || error.status === 404) return null;
    throw error;
  }
}

export const people = (org, period, role, kpiName) => panel(`/v1/kpi/people?${query({ org_code: org, period, role, kpi: kpiName })}`);
export const evaluationSchemes = () => panel("/v1/evaluation-schemes");
export const evaluations = (scheme, period, org, level) => panel(`/v1/evaluations?${query({ scheme, period, org_code: org, level })}`);

// Every plan of the org and below it, all pages; null as for any panel.
export async function improvementPlans(org) {
  const all = [];
  let cursor = null;
  do {
    const page = await panel(`/v1/improvement-plans?${query({ org_code: org, limit: 500, cursor })}`);
    if (!page) return null;
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

// Survey integrity per dealer for a month (issue 17); the quality loop (issue 18).
export const surveyIntegrity = (org, period) => panel(`/v1/survey-integrity?${query({ org_code: org, period })}`);
export const qualitySignals = () => panel(`/v1/quality-signals?${query({ limit: 50 })}`);
export const openTechRequests = () => panel(`/v1/tech-requests?${query({ status: "open", limit: 100 })}`);
// The recalls of the org's subtree with its figures, all pages; null as for any panel.
export async function recalls(org) {
  const all = [];
  let cursor = null;
  do {
    const page = await panel(`/v1/recalls?${query({ org_code: org, limit: 500, cursor })}`);
    if (!page) return null;
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}
export const recallProgress = (code, org) => panel(`/v1/recalls/${encodeURIComponent(code)}/progress?${query({ org_code: org })}`);

// Where the org's customers stand (issue 16): lifecycle and segment counts; null as for any panel.
export const retention = (org) => panel(`/v1/retention?${query({ org_code: org })}`);

// The latest launched campaign owned in the subtree `inSubtree(orgCode)` selects, with its result:
// {campaign, results}, {campaign: null} when none was launched there, null when the user may not
// read campaigns. The list is of the user's whole subtree, oldest first: every page is read.
export async function latestCampaign(inSubtree) {
  let latest = null;
  let cursor = null;
  do {
    const page = await panel(`/v1/campaigns?${query({ status: "launched", limit: 500, cursor })}`);
    if (!page) return null;
    for (const campaign of page.items) {
      if (inSubtree(campaign.org_code) && (!latest || Date.parse(campaign.launched_at) > Date.parse(latest.launched_at))) latest = campaign;
    }
    cursor = page.next_cursor;
  } while (cursor);
  if (!latest) return { campaign: null };
  const results = await panel(`/v1/campaigns/${encodeURIComponent(latest.id)}/results`);
  return results ? { campaign: latest, results } : null;
}
