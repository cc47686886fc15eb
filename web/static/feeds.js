// Live updates over graphql-transport-ws, and catching up. `inboxEvents(sinceVersion)` brings
// every change to the caller's inbox with versions +1 apart: the page keeps the last version it
// applied, and after a dropped socket it resubscribes from there, so the server replays what
// happened meanwhile from its log. `typing` and `readReceipts` are best-effort pushes.
// `graphqlWs` is the global of graphql-ws's UMD build, which index.html loads with a deferred
// classic script before this module graph: deferred and module scripts run in document order, so
// it is defined by the time anything here runs, unless it failed to load.
import { ApiError, gql, report } from "./api.js";
import {
  otherParty,
  readStateChanged,
  receiptArrived,
  receivedInThread,
  reloadThread,
  removeFromThread,
  threadPartner,
} from "./conversation.js";
import {
  conversationIdWith,
  loadConversations,
  messageArrived,
  messageDeleted,
  refreshConversations,
} from "./conversations.js";
import { $ } from "./dom.js";
import { INBOX_EVENTS, READ_RECEIPTS, TYPING, UNREAD_COUNT } from "./operations.js";
import { currentSession, signOut } from "./session.js";
import { someoneTyping } from "./typing.js";

let client = null; // the graphql-ws client: one socket for every subscription
// The inboxEvents subscription. graphql-ws sends the same payload object again on every
// reconnect, so keeping `sinceVersion` in it up to date is what makes a retry resume from the
// last version applied rather than from where the page started.
let events = null; // { payload, stop }
let lastVersion = -1; // of the last change applied; the badge shows that change's count

export function connectFeeds(session) {
  if (typeof graphqlWs === "undefined") {
    setStatus("offline", "offline (graphql-ws did not load)");
    catchUp(session);
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  client = graphqlWs.createClient({
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
        if (currentSession() !== session) return;
        setStatus("live", "live");
        // inboxEvents replays what was missed by itself; receipts were not kept: the thread's
        // read marks are re-read.
        if (wasRetry) reloadThread();
      },
      closed: (event) => {
        if (currentSession() !== session) return;
        if (event?.code === 4403) signOut("Your session has expired: sign in again.");
        else setStatus("reconnecting", "reconnecting…");
      },
    },
  });
  client.subscribe({ query: TYPING }, feed(session, (d) => someoneTyping(d.typing, threadPartner())));
  client.subscribe({ query: READ_RECEIPTS }, feed(session, (d) => receiptArrived(d.readReceipts)));
  catchUp(session);
}

export function disconnectFeeds() {
  events?.stop();
  events = null;
  client?.dispose();
  client = null;
  lastVersion = -1;
}

/** Reads the count's version first, then the list, then follows the changes after that version:
 * whatever changed while the list was read comes again, and applying it twice is harmless. */
async function catchUp(session) {
  events?.stop();
  events = null;
  try {
    const { versionedUnreadCount: count } = await gql(UNREAD_COUNT);
    if (currentSession() !== session) return;
    lastVersion = count.version;
    setBadge(count.count);
    await Promise.all([loadConversations(true), reloadThread()]);
    if (currentSession() !== session || !client) return;
    const payload = { query: INBOX_EVENTS, variables: { sinceVersion: lastVersion } };
    events = { payload, stop: client.subscribe(payload, eventFeed(session)) };
  } catch (error) {
    report(error);
  }
}

function eventFeed(session) {
  const syncTooOld = (errors) => errors?.some?.((e) => e.extensions?.code === "SYNC_TOO_OLD");
  const sink = feed(session, (data) => apply(data.inboxEvents));
  return {
    ...sink,
    next: (result) => {
      // The log no longer holds the changes since our version: start over from the record.
      if (currentSession() !== session) return;
      if (syncTooOld(result.errors)) catchUp(session);
      else sink.next(result);
    },
    error: (error) => {
      if (currentSession() !== session) return;
      if (syncTooOld(error)) catchUp(session);
      else sink.error(error);
    },
  };
}

function apply(event) {
  if (event.version <= lastVersion) return; // seen already, before a reconnect
  lastVersion = event.version;
  if (events) events.payload.variables.sinceVersion = lastVersion;
  setBadge(event.unreadCount);
  if (event.__typename === "MessageReceivedEvent") {
    const open = threadPartner() === otherParty(event.message);
    messageArrived(event.message, { unread: !open });
    if (open) receivedInThread(event.message);
  } else if (event.__typename === "MessageDeletedEvent") {
    removeFromThread(event.messageId);
    messageDeleted(event.messageId);
  } else {
    // Reads and unreads (also from the caller's other tabs), and kinds this page does not show
    // yet: the open thread shows the new state, and the list re-reads its counts, because only
    // the server knows which conversation each id belonged to.
    showReadState(event);
    refreshConversations();
  }
}

function showReadState(event) {
  if (event.__typename === "MessagesUnreadEvent") {
    readStateChanged({ ids: event.messageIds, isRead: false });
  } else if (event.__typename === "MessagesReadEvent") {
    // A horizon lists no ids: it covers the whole inbox, or one conversation.
    const open = threadPartner();
    const covered = !event.conversationId || (open && event.conversationId === conversationIdWith(open));
    readStateChanged({ ids: event.messageIds, isRead: true, everythingReceived: Boolean(event.allBefore && covered) });
  }
}

function feed(session, onData) {
  return {
    next: (result) => {
      if (currentSession() !== session) return;
      if (result.errors?.length) report(new ApiError(result.errors[0].message, "SUBSCRIPTION"));
      else if (result.data) onData(result.data);
    },
    error: (error) => {
      if (currentSession() !== session) return;
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

/** A new session's badge waits for its first count. */
export function resetBadge() {
  setBadge(null);
}

function setBadge(count) {
  const badge = $("unread-badge");
  badge.textContent = count === null ? "…" : String(count);
  badge.classList.toggle("zero", count === 0);
  document.title = count ? `(${count}) InboxQL · demo inbox` : "InboxQL · demo inbox";
}
