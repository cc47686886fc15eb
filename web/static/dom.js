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

/** Inserts `item` so that the list stays newest first (ULIDs sort by time). */
export function insertByIdDescending(list, item) {
  const last = list.lastElementChild;
  if (!last || last.dataset.id > item.dataset.id) {
    list.append(item);
    return;
  }
  const before = [...list.children].find((child) => child.dataset.id < item.dataset.id);
  list.insertBefore(item, before ?? null);
}
