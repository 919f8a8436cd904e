// Small DOM helpers the console's views share.

/** `document.querySelector`, shorter. */
export const $ = (selector) => document.querySelector(selector);

/** An element with `text` and attributes. */
export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/** An SVG element with attributes and, optionally, text. */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A `tel:` link for a phone number as people write it. */
export function telLink(phone) {
  return el("a", phone, { href: `tel:${phone.replace(/[^+\d]/g, "")}` });
}
