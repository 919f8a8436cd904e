// Message catalogs: every string the console shows comes from i18n/<lang>.json.
const STORAGE_KEY = "homecare.lang";
export const LANGUAGES = ["zh-CN", "en"];
let messages = {};
let current = "zh-CN";

export function language() {
  return current;
}

/** Load the catalog of the saved language (zh-CN by default) or of `lang`. */
export async function setLanguage(lang) {
  const wanted = LANGUAGES.includes(lang) ? lang : "zh-CN";
  const response = await fetch(`i18n/${wanted}.json`);
  if (!response.ok) throw new Error(`catalog ${wanted}: HTTP ${response.status}`);
  messages = await response.json();
  current = wanted;
  localStorage.setItem(STORAGE_KEY, wanted);
  document.documentElement.lang = wanted;
  applyTo(document);
}

export function savedLanguage() {
  return localStorage.getItem(STORAGE_KEY) || "zh-CN";
}

/** The message `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = messages[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** The message `key`, or `fallback` where the catalog has none (a value newer than it). */
export function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

/** Fill every element carrying `data-i18n` with its message. */
export function applyTo(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

/** A moment, in the IANA time zone `zone` (a resident's), or in the browser's without one. */
export function formatTime(iso, zone) {
  if (!iso) return "";
  const options = { dateStyle: "short", timeStyle: "medium" };
  if (zone) options.timeZone = zone;
  return new Intl.DateTimeFormat(current, options).format(new Date(iso));
}

/** The browser's own IANA time zone. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A share (0..1) as a percentage, or a dash when there is none. */
export function formatShare(share) {
  if (share === null || share === undefined) return "—";
  return new Intl.NumberFormat(current, { style: "percent", maximumFractionDigits: 1 }).format(share);
}
