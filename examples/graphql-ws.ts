// The bare graphql-ws client (what GraphiQL and most frameworks use under the hood).
// npm install graphql-ws   (plus `ws` on Node: createClient({ webSocketImpl: WebSocket, ... }))
import { createClient } from "graphql-ws";

const token = "<a JWT: uv run server.py token alice>";
const client = createClient({
  url: "ws://127.0.0.1:8000/graphql",
  // Sent in connection_init; a missing or bad token closes the socket with 4403.
  connectionParams: { Authorization: `Bearer ${token}` },
  // On every reconnect InboxQL sends the current count first, so nothing is stale.
  retryAttempts: Infinity,
});

const query = /* GraphQL */ `
  subscription OnUnreadCount {
    unreadCount
  }
`;
for await (const result of client.iterate({ query })) {
  console.log("unread:", result.data?.unreadCount);
}
