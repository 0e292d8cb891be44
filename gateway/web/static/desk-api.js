// The public API as the desk uses it. The token is kept as the dashboard keeps it (one session for
// both pages); every call goes out with the user's own token, so what comes back is what this
// user may see, masked as the API masks it.

import { ApiError, session } from "/ui/static/dashboard-api.js";

// Who signed in (the login answer: username, org_code, staff_code), kept with the token it came with.
const WHO_KEY = "csloop.desk.who";

async function request(path, { method = "GET", body, idempotent = false, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A create retried after a lost answer must not record the call twice.
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

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
const id = (value) => encodeURIComponent(value);

export async function login(username, password) {
  const data = await request("/v1/auth/login", { method: "POST", body: { username, password }, auth: false });
  session.save(data.access_token, data.expires_in);
  const who = { username: data.username ?? username, org_code: data.org_code ?? null, staff_code: data.staff_code ?? null };
  sessionStorage.setItem(WHO_KEY, JSON.stringify({ token: data.access_token, who }));
}

// The signed-in user, or null when the token is gone or was not issued by the desk's sign-in
// (the dashboard's does not keep the staff code): then the desk asks to sign in.
export function me() {
  const saved = JSON.parse(sessionStorage.getItem(WHO_KEY) || "null");
  return saved && session.token && saved.token === session.token ? saved.who : null;
}

export function logout() {
  session.clear();
  sessionStorage.removeItem(WHO_KEY);
}

// An agent's open calls due before `dueBefore`, in due order (the API orders the call list).
export async function calls(assignee, dueBefore) {
  const all = [];
  let cursor = null;
  do {
    const page = await request(`/v1/follow-ups?${query({ assignee, status: "open", due_before: dueBefore, limit: 500, cursor })}`);
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && all.length < 2000);
  return all;
}

export const followUp = (followUpId) => request(`/v1/follow-ups/${id(followUpId)}`);
export const customer = (customerId) => request(`/v1/customers/${id(customerId)}`);
export const customer360 = (customerId) => request(`/v1/customers/${id(customerId)}/360`);
export const prospect = (prospectId) => request(`/v1/prospects/${id(prospectId)}`);
export const interactions = (params) => request(`/v1/interactions?${query({ limit: 100, ...params })}`);
export const complaint = (complaintId) => request(`/v1/complaints/${id(complaintId)}`);
export const lookup = (phone) => request(`/v1/lookup?${query({ phone })}`);
export const recordAttempt = (followUpId, attempt) =>
  request(`/v1/follow-ups/${id(followUpId)}/attempts`, { method: "POST", body: attempt, idempotent: true });
