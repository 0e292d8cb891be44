// The desk's text helpers: building DOM from API data (always as text, never as HTML), times, labels.
// Words and the language switch are the dashboard's (dashboard-text.js reads this page's #ui-words).

import { currentLang, setLang, t } from "/ui/static/dashboard-text.js";

export { currentLang, t };

export function applyLang(lang) {
  setLang(lang);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
}

// `el("p", {class: "x"}, "text", child)`: children are nodes or strings (text nodes), null is skipped.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

// A word with {placeholders} filled in.
export const fill = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

// A code's label, or the code itself when the desk has no word for it (a value added later).
export function label(prefix, code) {
  const key = `${prefix}_${code}`;
  const word = t(key);
  return word === key ? String(code ?? "") : word;
}

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

// A time of today as 14:30; another day with its date.
export function when(iso, now = new Date()) {
  if (!iso) return "—";
  const date = new Date(iso);
  const time = date.toLocaleTimeString(currentLang(), { hour: "2-digit", minute: "2-digit", hour12: false });
  if (sameDay(date, now)) return time;
  const options = { month: "short", day: "numeric", ...(date.getFullYear() !== now.getFullYear() && { year: "numeric" }) };
  return `${date.toLocaleDateString(currentLang(), options)} ${time}`;
}

export function day(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleDateString(currentLang(), { year: "numeric", month: "short", day: "numeric" });
}

// The end of the agent's today in the browser's time zone: the call list's `due_before`.
export function endOfToday(now = new Date()) {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).toISOString();
}

export const list = (items) => items.join(t("list_separator"));
