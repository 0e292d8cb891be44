// The attempt form: what the agent found on this call, as `POST /v1/follow-ups/{id}/attempts` takes it.
// Satisfaction is asked only of a reached customer; issues only of a dissatisfied one.

import { t } from "./desk-text.js";

const checked = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);

export function syncAttemptForm(form) {
  const reached = checked(form, "reached")[0] === "yes";
  form.querySelector("#satisfaction-set").hidden = !reached;
  form.querySelector("#issues-set").hidden = !(reached && checked(form, "satisfaction")[0] === "dissatisfied");
}

export function resetAttemptForm(form) {
  form.reset();
  form.querySelector("#attempt-error").hidden = true;
  syncAttemptForm(form);
}

// Greetings ask nothing of the customer: their satisfaction may be left out (the API's rule too).
const GREETINGS = new Set(["birthday", "holiday"]);

// The body to send for a call of this kind, or {error} naming what is missing.
export function attemptBody(form, agent, kind) {
  const reached = checked(form, "reached")[0] === "yes";
  const satisfaction = reached ? checked(form, "satisfaction")[0] : undefined;
  const issueCodes = satisfaction === "dissatisfied" ? checked(form, "issue_codes") : [];
  if (reached && !satisfaction && !GREETINGS.has(kind)) return { error: t("need_satisfaction") };
  if (satisfaction === "dissatisfied" && !issueCodes.length) return { error: t("need_issue") };
  const note = form.querySelector("#attempt-note").value.trim();
  return {
    body: {
      reached, channel: checked(form, "channel")[0], satisfaction: satisfaction || null, issue_codes: issueCodes,
      note: note || null, agent,
    },
  };
}

export function showAttemptError(form, message) {
  const box = form.querySelector("#attempt-error");
  box.textContent = message || "";
  box.hidden = !message;
}
