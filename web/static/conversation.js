// The open conversation (thread): both directions, oldest at the top and newest at the bottom,
// with "Load older" above. Opening it marks everything the caller received in it read, with one
// markConversationRead however many that is; a received message that was read offers "Mark
// unread". The caller's own messages say "Seen" once their recipient read them, from the
// thread's `isRead`/`readAt` and live from read receipts, and have a delete button; a message
// its sender deleted leaves the thread, live from `MessageDeletedEvent` on the recipient's side.
import { gql, report } from "./api.js";
import { $, el, formatTime, placeInOrder } from "./dom.js";
import {
  CONVERSATION_QUERY,
  DELETE_MESSAGE,
  MARK_CONVERSATION_READ,
  MARK_READ,
  MARK_UNREAD,
} from "./operations.js";
import { currentSession } from "./session.js";
import { hideTyping } from "./typing.js";

// id -> { message, element }
const thread = { withUser: null, entries: new Map(), cursor: null, generation: 0 };
// What this page sent, per recipient. The server lists a message in its sender's conversation
// once it is delivered, a moment after `sendMessage` returns: until then only the page has it.
const sentHere = new Map();
const SENT_KEPT = 20;
// Told the id of a message deleted from this page (the conversation list re-reads itself).
let afterDelete = () => {};

export function setAfterDelete(callback) {
  afterDelete = callback;
}

export function otherParty(message) {
  return message.senderId === currentSession()?.user ? message.recipientId : message.senderId;
}

/** The user the open conversation is with; null when none is open. */
export function threadPartner() {
  return thread.withUser;
}

export function closeThread() {
  thread.generation += 1;
  if (!currentSession()) sentHere.clear();
  thread.withUser = null;
  thread.entries.clear();
  thread.cursor = null;
  hideTyping();
  $("conversation-list").replaceChildren();
  $("conversation-more").hidden = true;
  $("conversation").hidden = true;
  $("reply-error").hidden = true;
}

export async function openThread(withUser) {
  closeThread();
  thread.withUser = withUser;
  $("conversation-with").textContent = withUser;
  $("conversation").hidden = false;
  for (const message of sentHere.get(withUser) ?? []) addToThread(message);
  const generation = thread.generation;
  await loadOlder();
  if (generation === thread.generation) await markConversationRead(generation);
}

/** A message the caller just sent from this page. */
export function sentFromHere(message) {
  const kept = [...(sentHere.get(message.recipientId) ?? []), message].slice(-SENT_KEPT);
  sentHere.set(message.recipientId, kept);
  if (thread.withUser === message.recipientId) addToThread(message);
}

/** The open thread again from the server, e.g. after the live feeds were away. */
export async function reloadThread() {
  if (thread.withUser) await openThread(thread.withUser);
}

export async function loadOlder() {
  const generation = thread.generation;
  const more = $("conversation-more");
  more.disabled = true;
  try {
    const variables = { with: thread.withUser, after: thread.cursor };
    const { conversation: page } = await gql(CONVERSATION_QUERY, variables);
    if (generation !== thread.generation) return; // another conversation opened meanwhile
    for (const { node } of page.edges) addToThread(node);
    thread.cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
  } catch (error) {
    report(error);
  } finally {
    if (generation === thread.generation) more.disabled = false;
  }
}

/** Shows `message` once, whichever of a page, the live feed or the compose box brings it. */
export function addToThread(message) {
  if (thread.entries.has(message.id)) {
    // A page read later than the copy shown (e.g. one sent from here) knows it was read since.
    if (message.isRead) showRead(message.id, true, message.readAt);
    return;
  }
  const mine = message.senderId === currentSession()?.user;
  const seen = el("span", { className: "seen", dataset: { testid: "seen" }, hidden: true });
  const unread = el("button", {
    type: "button",
    className: "link mark-unread",
    textContent: "Mark unread",
    dataset: { testid: "mark-unread" },
    hidden: true,
  });
  unread.addEventListener("click", () => markUnread(message.id));
  const extras = [mine ? seen : unread];
  if (mine) {
    const remove = el("button", {
      type: "button",
      className: "link delete",
      textContent: "Delete",
      title: "Delete for both of us",
      dataset: { testid: "delete-message" },
    });
    remove.addEventListener("click", () => deleteHere(message.id, remove));
    extras.push(remove);
  }
  const item = el(
    "li",
    {
      className: mine ? "mine" : "theirs",
      dataset: { testid: "conversation-item", id: message.id, order: message.id },
    },
    el("span", { className: "from", textContent: mine ? "me" : message.senderId }),
    el("time", { className: "when", textContent: formatTime(message.sentAt), dateTime: message.sentAt }),
    el("p", { className: "body", textContent: message.body, dataset: { testid: "conversation-body" } }),
    ...extras,
  );
  thread.entries.set(message.id, { message, element: item, mine });
  showRead(message.id, message.isRead, message.readAt);
  const list = $("conversation-list");
  placeInOrder(list, item, { newestFirst: false });
  if (list.lastElementChild === item) list.scrollTop = list.scrollHeight; // keep the newest in view
  if (!mine) hideTyping();
}

/** A message its sender deleted (from this page, another tab, or the other user's). */
export function removeFromThread(id) {
  thread.entries.get(id)?.element.remove();
  thread.entries.delete(id);
  for (const [recipient, sent] of sentHere) {
    sentHere.set(recipient, sent.filter((message) => message.id !== id));
  }
}

async function deleteHere(id, button) {
  button.disabled = true;
  try {
    // false: deleted already (from another tab): gone all the same.
    await gql(DELETE_MESSAGE, { id });
    removeFromThread(id);
    afterDelete(id);
  } catch (error) {
    button.disabled = false;
    report(error);
  }
}

/** A message the caller received while its conversation is open: they are looking at it. */
export async function receivedInThread(message) {
  addToThread(message);
  await markReceivedRead([message]);
}

/** A read receipt: some of the caller's messages were just read by their recipient. */
export function receiptArrived({ readerId, messageIds, readAt }) {
  if (readerId !== thread.withUser) return;
  for (const id of messageIds) showRead(id, true, readAt);
}

/** A change of read state from the caller's inbox events (this tab's or another's): `ids` turned
 * `isRead`, or, for a read horizon over the open conversation, everything received in it. */
export function readStateChanged({ ids, isRead, everythingReceived }) {
  const user = currentSession()?.user;
  const targets = everythingReceived
    ? [...thread.entries.values()].filter(({ message }) => message.recipientId === user).map(({ message }) => message.id)
    : ids;
  for (const id of targets) {
    const entry = thread.entries.get(id);
    if (entry && entry.message.isRead !== isRead) showRead(id, isRead, entry.message.readAt);
  }
}

function showRead(id, isRead, readAt) {
  const entry = thread.entries.get(id);
  if (!entry) return;
  entry.message.isRead = isRead;
  entry.element.dataset.read = String(isRead);
  if (!entry.mine) {
    entry.element.querySelector(".mark-unread").hidden = !isRead;
    return;
  }
  const seen = entry.element.querySelector(".seen");
  seen.hidden = !isRead;
  seen.textContent = isRead ? "Seen" : "";
  seen.title = isRead && readAt ? `read ${formatTime(readAt)}` : "";
}

async function markReceivedRead(messages) {
  const user = currentSession()?.user;
  const ids = messages.filter((m) => m.recipientId === user && !m.isRead).map((m) => m.id);
  if (ids.length === 0) return;
  try {
    const { markRead } = await gql(MARK_READ, { ids });
    for (const marked of markRead.messages) showRead(marked.id, marked.isRead, marked.readAt);
  } catch (error) {
    report(error);
  }
}

/** Everything received in the open conversation so far: one call, whatever its number. */
async function markConversationRead(generation) {
  try {
    const { markConversationRead: marked } = await gql(MARK_CONVERSATION_READ, { with: thread.withUser });
    if (generation !== thread.generation) return;
    for (const message of marked.messages) showRead(message.id, message.isRead, message.readAt);
    // The answer lists at most the 100 newest it flipped: what it covered beyond them is read too.
    readStateChanged({ isRead: true, everythingReceived: true });
  } catch (error) {
    report(error);
  }
}

async function markUnread(id) {
  try {
    const { markUnread: marked } = await gql(MARK_UNREAD, { ids: [id] });
    for (const message of marked.messages) showRead(message.id, message.isRead, message.readAt);
  } catch (error) {
    report(error);
  }
}
