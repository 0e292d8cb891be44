// The public API as the desk uses it. Sign-in and the token are the dashboard's (one session for
// both pages); every call goes out with the user's own token, so what comes back is what this
// user may see, masked as the API masks it.

import { ApiError, login, session } from "/ui/static/dashboard-api.js";

export { ApiError, login, session };

async function request(path, { method = "GET", body, idempotent = false } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${session.token}` };
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

// The signed-in user: username, org_code and staff_code (the agent whose calls these are).
export const me = () => request("/v1/users/me");

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
