// The inbox list: pages of the caller's messages, newest first, merged with the live feed's.
import { gql, report } from "./api.js";
import { loadConversation, otherParty } from "./conversation.js";
import { $, el, formatTime, insertByIdDescending } from "./dom.js";
import { INBOX_QUERY, MARK_ALL_READ, MARK_READ } from "./operations.js";

const inbox = { entries: new Map(), cursor: null, generation: 0 }; // id -> { message, element }

export function resetInbox() {
  inbox.generation += 1;
  inbox.entries.clear();
  inbox.cursor = null;
  $("inbox-list").replaceChildren();
  $("inbox-more").hidden = true;
  $("inbox-empty").hidden = true;
}

export async function loadInbox(reset) {
  if (reset) resetInbox();
  const generation = inbox.generation;
  const more = $("inbox-more");
  more.disabled = true;
  try {
    const { messages } = await gql(INBOX_QUERY, { after: inbox.cursor });
    if (generation !== inbox.generation) return; // a reload has replaced this list
    for (const { node } of messages.edges) addToInbox(node);
    inbox.cursor = messages.pageInfo.endCursor;
    more.hidden = !messages.pageInfo.hasNextPage;
    $("inbox-empty").hidden = inbox.entries.size > 0;
  } catch (error) {
    report(error);
  } finally {
    if (generation === inbox.generation) more.disabled = false;
  }
}

/** Shows `message` once, whichever of a page or the live feed brings it first. */
export function addToInbox(message) {
  if (inbox.entries.has(message.id)) return null;
  const item = el(
    "li",
    { className: "message", tabIndex: 0, dataset: { testid: "inbox-item", id: message.id } },
    el("span", { className: "from", textContent: message.senderId, dataset: { testid: "inbox-sender" } }),
    el("time", { className: "when", textContent: formatTime(message.sentAt), dateTime: message.sentAt }),
    el("span", { className: "preview", textContent: message.body, dataset: { testid: "inbox-body" } }),
  );
  item.addEventListener("click", () => openMessage(message.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openMessage(message.id);
    }
  });
  inbox.entries.set(message.id, { message, element: item });
  showRead(message.id, message.isRead);
  insertByIdDescending($("inbox-list"), item);
  return item;
}

function showRead(id, isRead) {
  const entry = inbox.entries.get(id);
  if (!entry) return;
  entry.message.isRead = isRead;
  entry.element.dataset.read = String(isRead);
  entry.element.classList.toggle("unread", !isRead);
  entry.element.title = isRead ? "read" : "unread";
}

async function openMessage(id) {
  const entry = inbox.entries.get(id);
  if (!entry) return;
  const { message, element } = entry;
  for (const item of $("inbox-list").querySelectorAll(".selected")) item.classList.remove("selected");
  element.classList.add("selected");
  element.classList.remove("fresh");
  $("message-sender").textContent = message.senderId;
  $("message-time").textContent = formatTime(message.sentAt);
  $("message-time").dateTime = message.sentAt;
  $("message-body").textContent = message.body;
  $("message-view").dataset.id = message.id;
  $("conversation").hidden = false;
  loadConversation(otherParty(message), true);
  if (message.isRead) return;
  try {
    const { markRead } = await gql(MARK_READ, { ids: [id] });
    for (const marked of markRead.messages) showRead(marked.id, true);
  } catch (error) {
    report(error);
  }
}

export async function markAllRead() {
  const button = $("mark-all-read");
  button.disabled = true;
  try {
    const { markAllRead: result } = await gql(MARK_ALL_READ);
    for (const marked of result.messages) showRead(marked.id, true);
  } catch (error) {
    report(error);
  } finally {
    button.disabled = false;
  }
}
