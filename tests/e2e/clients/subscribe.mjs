// A real `graphql-ws` client (the npm package frontends use) running one subscription.
// Usage: node subscribe.mjs <ws-url> <token> <document>. Prints one JSON line per value.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

client.subscribe(
  { query },
  {
    next: (value) => console.log(JSON.stringify(value)),
    error: (error) => {
      console.error(JSON.stringify(error, Object.getOwnPropertyNames(error)));
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
