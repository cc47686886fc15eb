// The conversation list: everyone the caller wrote with, newest activity first, each with the
// last message and an unread badge. Pages come from `conversations`; the live feed moves a
// conversation up when a message arrives, and read events re-read the list, because only the
// server knows which conversation each read id belonged to.
import { gql, report } from "./api.js";
import { openThread, otherParty, threadPartner } from "./conversation.js";
import { $, el, formatTime, placeInOrder } from "./dom.js";
import { CONVERSATIONS_QUERY, MARK_ALL_READ } from "./operations.js";
import { currentSession } from "./session.js";

// withUserId -> { conversation, element }
const list = { rows: new Map(), cursor: null, generation: 0, refreshing: null };

export function resetConversations() {
  list.generation += 1;
  list.rows.clear();
  list.cursor = null;
  list.refreshing = null;
  $("conversations").replaceChildren();
  $("conversations-more").hidden = true;
  $("conversations-empty").hidden = true;
}

/** The next page, or (reset) the first page of a new list. */
export async function loadConversations(reset) {
  if (reset) resetConversations();
  const generation = list.generation;
  const more = $("conversations-more");
  more.disabled = true;
  try {
    const page = await fetchPage(list.cursor);
    if (generation !== list.generation) return; // a reload has replaced this list
    for (const { node } of page.edges) showConversation(node);
    list.cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    $("conversations-empty").hidden = list.rows.size > 0;
  } catch (error) {
    report(error);
  } finally {
    if (generation === list.generation) more.disabled = false;
  }
}

/** Re-reads the first page over the rows shown; calls made while one runs share it. */
export function refreshConversations() {
  list.refreshing ??= (async () => {
    const generation = list.generation;
    try {
      const page = await fetchPage(null);
      if (generation === list.generation) for (const { node } of page.edges) showNewer(node);
    } catch (error) {
      report(error);
    } finally {
      if (generation === list.generation) list.refreshing = null;
    }
  })();
  return list.refreshing;
}

/** A conversation as the server has it, except a newer last message the page already shows: the
 * sender's side lists a message once it is delivered, a moment after `sendMessage` returns. */
function showNewer(conversation) {
  const shown = list.rows.get(conversation.withUserId)?.conversation;
  if (shown && shown.lastMessage.id > conversation.lastMessage.id) {
    const { lastMessage, updatedAt } = shown;
    showConversation({ ...conversation, lastMessage, updatedAt });
  } else {
    showConversation(conversation);
  }
}

async function fetchPage(after) {
  const { conversations } = await gql(CONVERSATIONS_QUERY, { after });
  return conversations;
}

/** The id of the conversation with `withUserId` as the list read it; undefined until it has. */
export function conversationIdWith(withUserId) {
  return list.rows.get(withUserId)?.conversation.id || undefined;
}

/** A message deleted by its sender: a conversation showing it as its last message falls back to
 * the one before, or leaves the list; only the server knows which, so the list is read again. */
export function messageDeleted(id) {
  const shown = [...list.rows.values()].some(({ conversation }) => conversation.lastMessage.id === id);
  if (shown) loadConversations(true);
  else refreshConversations();
}

/** A message the caller sent or received, live: its conversation moves to the top. `unread`
 * says whether it adds to the conversation's unread count (not when its thread is open). */
export function messageArrived(message, { unread }) {
  const withUserId = otherParty(message);
  const shown = list.rows.get(withUserId)?.conversation;
  if (shown && shown.lastMessage.id >= message.id) return; // already in a page read after it
  showConversation({
    id: shown?.id ?? "",
    withUserId,
    lastMessage: message,
    updatedAt: message.sentAt,
    unreadCount: (shown?.unreadCount ?? 0) + (unread ? 1 : 0),
  });
}

/** Opening a conversation reads what it shows; the read event's refresh confirms the count. */
function open(withUserId) {
  openThread(withUserId); // first: it makes this the open conversation before it awaits
  const row = list.rows.get(withUserId);
  if (row) showConversation({ ...row.conversation, unreadCount: 0 });
}

function showConversation(conversation) {
  let row = list.rows.get(conversation.withUserId);
  if (!row) {
    row = { conversation, element: newRow(conversation.withUserId) };
    list.rows.set(conversation.withUserId, row);
  }
  row.conversation = conversation;
  const { element } = row;
  const last = conversation.lastMessage;
  const mine = last.senderId === currentSession()?.user;
  element.dataset.order = last.id;
  element.dataset.unread = String(conversation.unreadCount);
  element.classList.toggle("unread", conversation.unreadCount > 0);
  element.classList.toggle("selected", threadPartner() === conversation.withUserId);
  element.querySelector(".when").textContent = formatTime(conversation.updatedAt);
  element.querySelector(".when").dateTime = conversation.updatedAt;
  element.querySelector(".you").hidden = !mine;
  element.querySelector(".preview").textContent = last.body;
  const badge = element.querySelector(".count");
  badge.textContent = String(conversation.unreadCount);
  badge.hidden = conversation.unreadCount === 0;
  placeInOrder($("conversations"), element, { newestFirst: true });
  $("conversations-empty").hidden = true;
}

function newRow(withUserId) {
  const item = el(
    "li",
    { className: "conversation", tabIndex: 0, dataset: { testid: "conversation-row", with: withUserId } },
    el("span", { className: "from", textContent: withUserId, dataset: { testid: "conversation-user" } }),
    el("span", { className: "count badge", dataset: { testid: "conversation-unread" } }),
    el("time", { className: "when" }),
    el(
      "span",
      { className: "last" },
      el("span", { className: "you", textContent: "You: " }),
      el("span", { className: "preview", dataset: { testid: "conversation-last" } }),
    ),
  );
  const select = () => {
    for (const other of $("conversations").querySelectorAll(".selected")) other.classList.remove("selected");
    item.classList.add("selected");
    open(withUserId);
  };
  item.addEventListener("click", select);
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select();
    }
  });
  return item;
}

export async function markAllRead() {
  const button = $("mark-all-read");
  button.disabled = true;
  try {
    await gql(MARK_ALL_READ);
    await refreshConversations();
  } catch (error) {
    report(error);
  } finally {
    button.disabled = false;
  }
}
