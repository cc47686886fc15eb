// DOM helpers shared by the views. `el` is how user content reaches the page: as properties such
// as textContent, never as HTML, so a message body is shown as the text it is.

export const $ = (id) => document.getElementById(id);

/** An element with properties (text goes in as textContent) and data-* attributes. */
export function el(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

export function formatTime(iso) {
  return new Date(iso).toLocaleString();
}

/** Puts `item` (or moves it) where its `data-order` keeps `list` sorted. The keys are ULIDs or
 * ISO times, which sort as strings in time order. */
export function placeInOrder(list, item, { newestFirst }) {
  const key = item.dataset.order;
  const after = (child) => (newestFirst ? child.dataset.order < key : child.dataset.order > key);
  const before = [...list.children].find((child) => child !== item && after(child));
  list.insertBefore(item, before ?? null);
}
