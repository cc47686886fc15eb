// A real `graphql-ws` client (the npm package frontends use) subscribing to unreadCount.
// Usage: node unread_count.mjs <ws-url> <token>. Prints one JSON line per value received.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

client.subscribe(
  { query: "subscription { unreadCount }" },
  {
    next: (value) => console.log(JSON.stringify(value)),
    error: (error) => {
      console.error(JSON.stringify(error, Object.getOwnPropertyNames(error)));
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
