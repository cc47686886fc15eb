// A real `graphql-ws` client (the npm package frontends use) catching up and following
// inboxEvents. Usage: node inbox_events.mjs <ws-url> <token> [sinceVersion]. Prints one JSON
// line per result (`data` or `errors`), then {"complete": true} or {"error": ...} at the end.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, since] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});

const query = `subscription($since: Int) {
  inboxEvents(sinceVersion: $since) {
    __typename version unreadCount
    ... on MessageReceivedEvent { message { id senderId body } }
    ... on MessagesReadEvent { messageIds }
  }
}`;

client.subscribe(
  { query, variables: { since: since === undefined ? null : Number(since) } },
  {
    next: (value) => console.log(JSON.stringify(value)),
    error: (error) => {
      console.log(JSON.stringify({ error }, Object.getOwnPropertyNames(error)));
      process.exit(1);
    },
    complete: () => {
      console.log(JSON.stringify({ complete: true }));
      process.exit(0);
    },
  },
);
