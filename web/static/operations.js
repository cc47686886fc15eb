// Every GraphQL operation the page sends, in one place: this is its whole contract with the
// schema (schema.graphql), over HTTP (api.js) and over the WebSocket (feeds.js) alike.

const PAGE_SIZE = 20;
const MESSAGE_FIELDS = "id senderId recipientId body sentAt isRead";
const PAGE_FIELDS = `edges { node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage endCursor }`;

export const INBOX_QUERY = `query Inbox($after: String) {
  messages(first: ${PAGE_SIZE}, after: $after) { ${PAGE_FIELDS} }
}`;
export const CONVERSATION_QUERY = `query Conversation($with: ID!, $after: String) {
  conversation(withUserId: $with, first: ${PAGE_SIZE}, after: $after) { ${PAGE_FIELDS} }
}`;
export const SEND_MESSAGE = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { ${MESSAGE_FIELDS} }
}`;
export const MARK_READ = `mutation MarkRead($ids: [ID!]!) {
  markRead(ids: $ids) { messages { id } unreadCount }
}`;
export const MARK_ALL_READ = "mutation MarkAllRead { markAllRead { messages { id } unreadCount } }";
export const UNREAD_COUNT = "subscription UnreadCount { versionedUnreadCount { count version } }";
export const MESSAGE_RECEIVED = `subscription MessageReceived { messageReceived { ${MESSAGE_FIELDS} } }`;
