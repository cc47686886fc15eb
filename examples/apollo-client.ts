// Apollo Client: queries and mutations over HTTP, subscriptions over graphql-ws.
// npm install @apollo/client graphql graphql-ws
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";

const token = "<a JWT: uv run server.py token alice>";

const http = new HttpLink({
  uri: "http://127.0.0.1:8000/graphql",
  headers: { Authorization: `Bearer ${token}` },
});
const ws = new GraphQLWsLink(
  createClient({
    url: "ws://127.0.0.1:8000/graphql",
    // InboxQL reads the token from connection_init, not from the handshake.
    connectionParams: { Authorization: `Bearer ${token}` },
  }),
);
const client = new ApolloClient({
  link: split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    ws,
    http,
  ),
  cache: new InMemoryCache(),
});

const INBOX = gql`
  query Inbox($first: Int = 20, $after: String) {
    messages(first: $first, after: $after) {
      edges { cursor node { id senderId body sentAt isRead } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const SEND = gql`
  mutation SendMessage($recipientId: ID!, $body: String!, $clientMessageId: String) {
    sendMessage(input: { recipientId: $recipientId, body: $body, clientMessageId: $clientMessageId }) {
      id sentAt
    }
  }
`;
const BADGE = gql`
  subscription OnVersionedUnreadCount {
    versionedUnreadCount { count version }
  }
`;

const page = await client.query({ query: INBOX, variables: { first: 20 } });
console.log(page.data.messages.edges.length, "messages");
await client.mutate({
  mutation: SEND,
  variables: { recipientId: "bob", body: "Hello!", clientMessageId: crypto.randomUUID() },
});
// Versions order every value of the count, from queries and pushes alike: show a value only
// if its version is higher than the one shown.
let shownVersion = -1;
client.subscribe({ query: BADGE }).subscribe({
  next: ({ data }) => {
    const { count, version } = data.versionedUnreadCount;
    if (version <= shownVersion) return;
    shownVersion = version;
    console.log("unread:", count);
  },
});
