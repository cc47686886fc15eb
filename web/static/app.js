// InboxQL's demo inbox: a plain browser client of the public API, no framework, no build step.
// Reads and mutations are JSON POSTs to /graphql with the bearer token; the unread badge and new
// messages come over graphql-transport-ws (the `graphqlWs` global from graphql-ws's UMD build).
// All user content goes into the page as text (textContent), never as HTML.
"use strict";

const SESSION_KEY = "inboxql.demo.session";
const PAGE_SIZE = 20;
const MESSAGE_FIELDS = "id senderId recipientId body sentAt isRead";
const PAGE_FIELDS = `edges { node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage endCursor }`;

const INBOX_QUERY = `query Inbox($after: String) {
  messages(first: ${PAGE_SIZE}, after: $after) { ${PAGE_FIELDS} }
}`;
const CONVERSATION_QUERY = `query Conversation($with: ID!, $after: String) {
  conversation(withUserId: $with, first: ${PAGE_SIZE}, after: $after) { ${PAGE_FIELDS} }
}`;
const SEND_MESSAGE = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { ${MESSAGE_FIELDS} }
}`;
const MARK_READ = `mutation MarkRead($ids: [ID!]!) {
  markRead(ids: $ids) { messages { id } unreadCount }
}`;
const MARK_ALL_READ = "mutation MarkAllRead { markAllRead { messages { id } unreadCount } }";
const UNREAD_COUNT = "subscription UnreadCount { versionedUnreadCount { count version } }";
const MESSAGE_RECEIVED = `subscription MessageReceived { messageReceived { ${MESSAGE_FIELDS} } }`;

const state = {
  session: null, // { user, token } of the signed-in user
  client: null, // the graphql-ws client, one socket for both subscriptions
  inbox: { entries: new Map(), cursor: null, generation: 0 }, // id -> { message, element }
  conversation: { withUser: null, ids: new Set(), cursor: null, generation: 0 },
  composeKey: null, // clientMessageId of the message being composed: a retry can't duplicate it
  badgeVersion: -1, // version of the count on the badge: an older or repeated value is ignored
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** An element with properties (text goes in as textContent) and data-* attributes. */
function el(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

function formatTime(iso) {
  return new Date(iso).toLocaleString();
}

// ---------------------------------------------------------------------------------- API (HTTP)

/** Runs one operation; throws ApiError with the first GraphQL error's message and code. */
async function gql(query, variables = {}) {
  const session = state.session;
  if (!session) throw new ApiError("signed out", "STALE");
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json;q=0.9",
        Authorization: `Bearer ${session.token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("The server can't be reached.", "NETWORK");
  }
  const body = await response.json().catch(() => null);
  // A response for a session that has since ended must not touch the next user's page.
  if (state.session !== session) throw new ApiError("signed out", "STALE");
  const first = body?.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? "ERROR";
    if (code === "UNAUTHENTICATED") signOut("Your session has expired: sign in again.");
    throw new ApiError(first.message, code);
  }
  if (!response.ok || !body?.data) throw new ApiError(`HTTP ${response.status}`, "HTTP");
  return body.data;
}

function report(error) {
  if (error.code === "STALE" || !state.session) return;
  const banner = $("app-error");
  banner.textContent = `${error.message} (click to dismiss)`;
  banner.hidden = false;
}

// ------------------------------------------------------------------------------- signing in

function readSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    return typeof saved?.user === "string" && typeof saved?.token === "string" ? saved : null;
  } catch {
    return null;
  }
}

async function signIn(user) {
  const error = $("signin-error");
  error.hidden = true;
  try {
    const response = await fetch("/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || typeof body.token !== "string") {
      throw new Error(body.error ?? `HTTP ${response.status}`);
    }
    const session = { user, token: body.token };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    start(session);
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

function start(session) {
  state.session = session;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("current-user").textContent = session.user;
  state.badgeVersion = -1;
  setBadge(null);
  loadInbox(true);
  connectFeeds(session);
}

function signOut(message) {
  if (!state.session) return;
  state.session = null;
  sessionStorage.removeItem(SESSION_KEY);
  state.client?.dispose();
  state.client = null;
  resetInbox();
  closeConversation();
  $("compose-form").reset();
  $("compose-status").textContent = "";
  $("compose-error").hidden = true;
  $("app-error").hidden = true;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message ?? "";
  $("signin-error").hidden = !message;
}

// --------------------------------------------------------------------- live updates (WebSocket)

function connectFeeds(session) {
  if (typeof graphqlWs === "undefined") {
    setStatus("offline", "offline (graphql-ws did not load)");
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  state.client = graphqlWs.createClient({
    url: `${scheme}://${location.host}/graphql`,
    // A function: graphql-ws calls it on every (re)connect.
    connectionParams: () => ({ Authorization: `Bearer ${session.token}` }),
    // Keep reconnecting with a capped backoff: the page is meant to stay open.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 10_000))),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (state.session !== session) return;
        setStatus("live", "live");
        // The live feed may have missed messages while disconnected: the inbox is the record.
        // (The badge needs nothing: the count subscription restarts with the current value.)
        if (wasRetry) loadInbox(true);
      },
      closed: (event) => {
        if (state.session !== session) return;
        if (event?.code === 4403) signOut("Your session has expired: sign in again.");
        else setStatus("reconnecting", "reconnecting…");
      },
    },
  });
  state.client.subscribe({ query: UNREAD_COUNT }, feed(session, (d) => offerCount(d.versionedUnreadCount)));
  state.client.subscribe({ query: MESSAGE_RECEIVED }, feed(session, (d) => receive(d)));
}

function feed(session, onData) {
  return {
    next: (result) => {
      if (state.session !== session) return;
      if (result.errors?.length) report(new ApiError(result.errors[0].message, "SUBSCRIPTION"));
      else if (result.data) onData(result.data);
    },
    error: (error) => {
      if (state.session !== session) return;
      setStatus("offline", "offline");
      const message = Array.isArray(error) ? error[0]?.message : error?.reason || error?.message;
      report(new ApiError(`Live updates stopped: ${message || "connection lost"}`, "SUBSCRIPTION"));
    },
    complete: () => {},
  };
}

function setStatus(kind, text) {
  const status = $("connection-status");
  status.dataset.state = kind;
  status.textContent = text;
}

/** The ordering rule: a count is shown only if its version is newer than the one shown. */
function offerCount({ count, version }) {
  if (version <= state.badgeVersion) return;
  state.badgeVersion = version;
  setBadge(count);
}

function setBadge(count) {
  const badge = $("unread-badge");
  badge.textContent = count === null ? "…" : String(count);
  badge.classList.toggle("zero", count === 0);
  document.title = count ? `(${count}) InboxQL · demo inbox` : "InboxQL · demo inbox";
}

function receive({ messageReceived: message }) {
  addToInbox(message)?.classList.add("fresh");
  $("inbox-empty").hidden = true;
  if (state.conversation.withUser === otherParty(message)) addToConversation(message);
}

// ------------------------------------------------------------------------------------- inbox

/** Inserts `item` so that the list stays newest first (ULIDs sort by time). */
function insertByIdDescending(list, item) {
  const last = list.lastElementChild;
  if (!last || last.dataset.id > item.dataset.id) {
    list.append(item);
    return;
  }
  const before = [...list.children].find((child) => child.dataset.id < item.dataset.id);
  list.insertBefore(item, before ?? null);
}

function resetInbox() {
  const inbox = state.inbox;
  inbox.generation += 1;
  inbox.entries.clear();
  inbox.cursor = null;
  $("inbox-list").replaceChildren();
  $("inbox-more").hidden = true;
  $("inbox-empty").hidden = true;
}

async function loadInbox(reset) {
  const inbox = state.inbox;
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
function addToInbox(message) {
  if (state.inbox.entries.has(message.id)) return null;
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
  state.inbox.entries.set(message.id, { message, element: item });
  showRead(message.id, message.isRead);
  insertByIdDescending($("inbox-list"), item);
  return item;
}

function showRead(id, isRead) {
  const entry = state.inbox.entries.get(id);
  if (!entry) return;
  entry.message.isRead = isRead;
  entry.element.dataset.read = String(isRead);
  entry.element.classList.toggle("unread", !isRead);
  entry.element.title = isRead ? "read" : "unread";
}

async function openMessage(id) {
  const entry = state.inbox.entries.get(id);
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

async function markAllRead() {
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

// ------------------------------------------------------------------------------ conversation

function otherParty(message) {
  return message.senderId === state.session?.user ? message.recipientId : message.senderId;
}

function closeConversation() {
  const conversation = state.conversation;
  conversation.generation += 1;
  conversation.withUser = null;
  conversation.ids.clear();
  conversation.cursor = null;
  $("conversation-list").replaceChildren();
  $("conversation").hidden = true;
}

async function loadConversation(withUser, reset) {
  const conversation = state.conversation;
  if (reset) {
    closeConversation();
    conversation.withUser = withUser;
    $("conversation-with").textContent = withUser;
    $("conversation").hidden = false;
  }
  const generation = conversation.generation;
  const more = $("conversation-more");
  more.disabled = true;
  try {
    const variables = { with: conversation.withUser, after: conversation.cursor };
    const { conversation: page } = await gql(CONVERSATION_QUERY, variables);
    if (generation !== conversation.generation) return;
    for (const { node } of page.edges) addToConversation(node);
    conversation.cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
  } catch (error) {
    report(error);
  } finally {
    if (generation === conversation.generation) more.disabled = false;
  }
}

function addToConversation(message) {
  const ids = state.conversation.ids;
  if (ids.has(message.id)) return;
  ids.add(message.id);
  const mine = message.senderId === state.session?.user;
  const item = el(
    "li",
    { className: mine ? "mine" : "theirs", dataset: { testid: "conversation-item", id: message.id } },
    el("span", { className: "from", textContent: mine ? "me" : message.senderId }),
    el("time", { className: "when", textContent: formatTime(message.sentAt), dateTime: message.sentAt }),
    el("p", { className: "body", textContent: message.body }),
  );
  insertByIdDescending($("conversation-list"), item);
}

// ----------------------------------------------------------------------------------- compose

async function send(event) {
  event.preventDefault();
  const error = $("compose-error");
  const status = $("compose-status");
  const button = $("compose-send");
  error.hidden = true;
  status.textContent = "Sending…";
  button.disabled = true;
  const recipientId = $("compose-recipient").value.trim();
  state.composeKey ??= newClientMessageId();
  try {
    const input = { recipientId, body: $("compose-body").value, clientMessageId: state.composeKey };
    const { sendMessage: sent } = await gql(SEND_MESSAGE, { input });
    state.composeKey = null;
    $("compose-body").value = "";
    status.textContent = `Sent to ${sent.recipientId}.`;
    if (state.conversation.withUser === sent.recipientId) addToConversation(sent);
  } catch (failure) {
    if (failure.code === "STALE" || !state.session) return;
    status.textContent = "";
    error.textContent = failure.code === "BAD_USER_INPUT" ? failure.message : `${failure.message} (${failure.code})`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function newClientMessageId() {
  if (window.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// -------------------------------------------------------------------------------------- wiring

function init() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("signin-user").value.trim());
  });
  for (const button of document.querySelectorAll("[data-user]")) {
    button.addEventListener("click", () => signIn(button.dataset.user));
  }
  $("sign-out").addEventListener("click", () => signOut());
  $("mark-all-read").addEventListener("click", markAllRead);
  $("inbox-more").addEventListener("click", () => loadInbox(false));
  $("conversation-more").addEventListener("click", () => loadConversation(null, false));
  $("reply").addEventListener("click", () => {
    $("compose-recipient").value = state.conversation.withUser ?? "";
    $("compose-body").focus();
  });
  $("compose-form").addEventListener("submit", send);
  // A different message gets a new idempotency key; a resend of the same one keeps it.
  $("compose-form").addEventListener("input", () => {
    state.composeKey = null;
  });
  $("app-error").addEventListener("click", () => {
    $("app-error").hidden = true;
  });
  const saved = readSession();
  if (saved) start(saved);
  else $("signin").hidden = false;
}

init();
