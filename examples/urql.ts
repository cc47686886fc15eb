// urql: queries and mutations over HTTP, subscriptions over graphql-ws.
// npm install @urql/core graphql graphql-ws
import { Client, cacheExchange, fetchExchange, gql, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";

const token = "<a JWT: uv run server.py token alice>";
const ws = createWsClient({
  url: "ws://127.0.0.1:8000/graphql",
  connectionParams: { Authorization: `Bearer ${token}` },
});

const client = new Client({
  url: "http://127.0.0.1:8000/graphql",
  fetchOptions: { headers: { Authorization: `Bearer ${token}` } },
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query || "" };
        return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
      },
    }),
  ],
});

const MARK_READ = gql`
  mutation MarkRead($ids: [ID!]!) {
    markRead(ids: $ids) { unreadCount messages { id isRead readAt } }
  }
`;
const CONVERSATION = gql`
  query Conversation($withUserId: ID!, $first: Int = 20, $after: String) {
    conversation(withUserId: $withUserId, first: $first, after: $after) {
      edges { node { id senderId body sentAt isRead } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const INCOMING = gql`
  subscription OnMessageReceived {
    messageReceived { id senderId body sentAt }
  }
`;

const thread = await client.query(CONVERSATION, { withUserId: "bob" }).toPromise();
const ids = thread.data.conversation.edges.map((edge: { node: { id: string } }) => edge.node.id);
await client.mutation(MARK_READ, { ids }).toPromise();
client.subscription(INCOMING, {}).subscribe((result) => console.log(result.data?.messageReceived));
