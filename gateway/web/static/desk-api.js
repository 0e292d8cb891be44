// The public API as the desk uses it. The token is kept as the dashboard keeps it (one session for
// both pages); every call goes out with the user's own token, so what comes back is what this
// user may see, masked as the API masks it.

import { login as signIn, query, request, session } from "/ui/static/dashboard-api.js";

// Who signed in (the login answer: username, org_code, staff_code), kept with the token it came with.
const WHO_KEY = "csloop.desk.who";

const id = (value) => encodeURIComponent(value);

export async function login(username, password) {
  const data = await signIn(username, password);
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
