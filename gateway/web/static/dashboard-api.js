// The public API as the dashboard uses it: login, the org subtree, the KPI reads.
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

async function request(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${session.token}`;
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

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) search.set(key, value);
  return search.toString();
}

export async function login(username, password) {
  const data = await request("/v1/auth/login", { method: "POST", body: { username, password }, auth: false });
  session.save(data.access_token, data.expires_in);
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
