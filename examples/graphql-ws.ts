// The bare graphql-ws client (what GraphiQL and most frameworks use under the hood).
// npm install graphql-ws   (plus `ws` on Node: createClient({ webSocketImpl: WebSocket, ... }))
import { createClient } from "graphql-ws";

// A function, not a value: graphql-ws calls it on every (re)connect, so a token refreshed
// meanwhile is the one sent. A token that expires closes the socket with 4403, which
// graphql-ws retries: the retry carries the fresh token.
async function currentToken(): Promise<string> {
  return "<a JWT: uv run server.py token alice>";
}
const client = createClient({
  url: "ws://127.0.0.1:8000/graphql",
  // Sent in connection_init; a missing or bad token closes the socket with 4403.
  connectionParams: async () => ({ Authorization: `Bearer ${await currentToken()}` }),
  // On every reconnect InboxQL sends the current count first, so nothing is missed.
  retryAttempts: Infinity,
});

// The ordering rule: versions grow with every change of the user's count, in query results
// and pushes alike. Show a value only if its version is higher than the one shown.
let shown = { count: 0, version: -1 };
function offer(value: { count: number; version: number }): void {
  if (value.version <= shown.version) return; // stale or repeated
  shown = value;
  console.log("unread:", shown.count);
}

const query = /* GraphQL */ `
  subscription OnVersionedUnreadCount {
    versionedUnreadCount {
      count
      version
    }
  }
`;
for await (const result of client.iterate({ query })) {
  const value = result.data?.versionedUnreadCount as { count: number; version: number } | undefined;
  if (value) offer(value);
}
