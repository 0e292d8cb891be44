// Words, numbers and periods: everything the dashboard shows as text, in zh-CN or en.

const WORDS = JSON.parse(document.getElementById("ui-words").textContent);
const LANG_KEY = "csloop.dashboard.lang";
let lang = WORDS[localStorage.getItem(LANG_KEY)] ? localStorage.getItem(LANG_KEY) : document.documentElement.lang;

export const KPIS = ["csi", "ssi", "nps", "response_rate", "fir", "retention", "service_penetration", "complaint_rate",
  "mttr_hours", "sla_first_response", "sla_resolution", "followup_on_time", "alert_closure",
  // The CR desk's KPIs (issue 14).
  "followup_contact_rate", "followup_dissatisfied_rate", "appointment_show_rate", "appointment_lead_days",
  "repair_lead_hours", "lapsed_rate",
  // Survey integrity and the quality loop (issues 17 and 18).
  "integrity_flag_rate", "recall_completion"];
const PERCENT = new Set(["response_rate", "fir", "retention", "service_penetration", "sla_first_response",
  "sla_resolution", "followup_on_time", "alert_closure",
  "followup_contact_rate", "followup_dissatisfied_rate", "appointment_show_rate", "lapsed_rate",
  "integrity_flag_rate", "recall_completion"]);

export const t = (key) => (WORDS[lang] && WORDS[lang][key]) || key;
// A phrase with {name} slots filled from `values`.
export const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
export const currentLang = () => lang;

export function setLang(next) {
  lang = WORDS[next] ? next : "zh-CN";
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  document.title = `${t("title")} · CSLoop`;
}

// Text from the API may hold anything: it only enters HTML strings (chart tooltips) through this.
export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A title may be a plain string or {zh-CN, en}.
export function local(text, fallback = "") {
  if (text && typeof text === "object") return text[lang] || text["zh-CN"] || text.en || fallback;
  return text || fallback;
}

export function unit(kpi) {
  if (PERCENT.has(kpi)) return "%";
  if (kpi === "mttr_hours" || kpi === "repair_lead_hours") return t("unit_hours");
  if (kpi === "appointment_lead_days") return t("unit_days");
  if (kpi === "complaint_rate") return t("unit_per_100");
  return "";
}

export function number(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return Number(value).toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function day(iso) {
  return new Date(iso).toLocaleDateString(lang, { year: "numeric", month: "short", day: "numeric" });
}

export function kpiValue(kpi, value) {
  if (value === null || value === undefined) return "—";
  const shown = number(value);
  return kpi === "nps" && value > 0 ? `+${shown}` : shown;
}

// Periods: YYYY-MM, YYYY-Qn, YYYY. `today` is a Date; the newest period is the one containing it.
export function periodsOf(kind, today = new Date()) {
  const year = today.getFullYear();
  const month = today.getMonth() + 1;
  const pad = (m) => String(m).padStart(2, "0");
  if (kind === "year") return Array.from({ length: 5 }, (_, i) => String(year - i));
  if (kind === "quarter") {
    const q = Math.ceil(month / 3);
    return Array.from({ length: 8 }, (_, i) => {
      const index = year * 4 + (q - 1) - i;
      return `${Math.floor(index / 4)}-Q${(index % 4) + 1}`;
    });
  }
  return Array.from({ length: 24 }, (_, i) => {
    const index = year * 12 + (month - 1) - i;
    return `${Math.floor(index / 12)}-${pad((index % 12) + 1)}`;
  });
}

// The period a kind opens on: the one holding the last complete month. The running month is
// still filling up (a manager read half a month of figures as a slump), so it is never the default.
export function defaultPeriod(kind, today = new Date()) {
  const last = new Date(today.getFullYear(), today.getMonth() - 1, 1);
  const month = last.getMonth() + 1;
  if (kind === "year") return String(last.getFullYear());
  if (kind === "quarter") return `${last.getFullYear()}-Q${Math.ceil(month / 3)}`;
  return `${last.getFullYear()}-${String(month).padStart(2, "0")}`;
}

export function periodKind(period) {
  if (/^\d{4}-Q[1-4]$/.test(period)) return "quarter";
  if (/^\d{4}-\d{2}$/.test(period)) return "month";
  return "year";
}

export function periodLabel(period) {
  const [year, rest] = period.split("-");
  if (!rest) return lang === "en" ? year : `${year}年`;
  if (rest.startsWith("Q")) return lang === "en" ? `${rest} ${year}` : `${year}年第${rest.slice(1)}季度`;
  if (lang === "en") return new Date(Number(year), Number(rest) - 1, 1).toLocaleString("en", { month: "short", year: "numeric" });
  return `${year}年${Number(rest)}月`;
}

// The twelve months ending with the period's last month (not after this month): [from, to].
export function trendRange(period, today = new Date()) {
  const [year, rest] = period.split("-");
  let lastMonth = 12;
  if (rest && rest.startsWith("Q")) lastMonth = Number(rest.slice(1)) * 3;
  else if (rest) lastMonth = Number(rest);
  let end = Number(year) * 12 + lastMonth - 1;
  end = Math.min(end, today.getFullYear() * 12 + today.getMonth());
  const month = (index) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
  return [month(end - 11), month(end)];
}

export function shortPeriod(period) {
  const [year, rest] = String(period).split("-");
  if (!rest) return year;
  if (rest.startsWith("Q")) return `${year.slice(2)}${rest}`;
  return lang === "en" ? `${rest}/${year.slice(2)}` : `${Number(rest)}月`;
}
