// Live updates over graphql-transport-ws: the unread badge and new messages. `graphqlWs` is the
// global of graphql-ws's UMD build, which index.html loads with a deferred classic script before
// this module graph: deferred and module scripts run in document order, so it is defined by the
// time anything here runs, unless it failed to load.
import { ApiError, report } from "./api.js";
import { addToConversation, conversationPartner, otherParty } from "./conversation.js";
import { $ } from "./dom.js";
import { addToInbox, loadInbox } from "./inbox.js";
import { MESSAGE_RECEIVED, UNREAD_COUNT } from "./operations.js";
import { currentSession, signOut } from "./session.js";

let client = null; // the graphql-ws client, one socket for both subscriptions
let badgeVersion = -1; // version of the count on the badge: an older or repeated value is ignored

export function connectFeeds(session) {
  if (typeof graphqlWs === "undefined") {
    setStatus("offline", "offline (graphql-ws did not load)");
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
        // The live feed may have missed messages while disconnected: the inbox is the record.
        // (The badge needs nothing: the count subscription restarts with the current value.)
        if (wasRetry) loadInbox(true);
      },
      closed: (event) => {
        if (currentSession() !== session) return;
        if (event?.code === 4403) signOut("Your session has expired: sign in again.");
        else setStatus("reconnecting", "reconnecting…");
      },
    },
  });
  client.subscribe({ query: UNREAD_COUNT }, feed(session, (d) => offerCount(d.versionedUnreadCount)));
  client.subscribe({ query: MESSAGE_RECEIVED }, feed(session, (d) => receive(d)));
}

export function disconnectFeeds() {
  client?.dispose();
  client = null;
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

/** Versions are per user: a new session's badge starts over and waits for its first count. */
export function resetBadge() {
  badgeVersion = -1;
  setBadge(null);
}

/** The ordering rule: a count is shown only if its version is newer than the one shown. */
function offerCount({ count, version }) {
  if (version <= badgeVersion) return;
  badgeVersion = version;
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
  if (conversationPartner() === otherParty(message)) addToConversation(message);
}
