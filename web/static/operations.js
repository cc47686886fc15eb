// Every GraphQL operation the page sends, in one place: this is its whole contract with the
// schema (schema.graphql), over HTTP (api.js) and over the WebSocket (feeds.js) alike.

const PAGE_SIZE = 20;
const MESSAGE_FIELDS = "id senderId recipientId body sentAt isRead readAt";
const PAGE_FIELDS = `edges { node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage endCursor }`;
const CONVERSATION_FIELDS = `id withUserId unreadCount updatedAt lastMessage { ${MESSAGE_FIELDS} }`;

export const CONVERSATIONS_QUERY = `query Conversations($after: String) {
  conversations(first: ${PAGE_SIZE}, after: $after) {
    edges { node { ${CONVERSATION_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
export const CONVERSATION_QUERY = `query Conversation($with: ID!, $after: String) {
  conversation(withUserId: $with, first: ${PAGE_SIZE}, after: $after) { ${PAGE_FIELDS} }
}`;
export const UNREAD_COUNT = "query UnreadCount { versionedUnreadCount { count version } }";
export const SEND_MESSAGE = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { ${MESSAGE_FIELDS} }
}`;
export const MARK_READ = `mutation MarkRead($ids: [ID!]!) {
  markRead(ids: $ids) { messages { id isRead readAt } unreadCount }
}`;
export const MARK_ALL_READ = "mutation MarkAllRead { markAllRead { messages { id } unreadCount } }";
export const MARK_CONVERSATION_READ = `mutation MarkConversationRead($with: ID!) {
  markConversationRead(withUserId: $with) { messages { id isRead readAt } unreadCount }
}`;
export const MARK_UNREAD = `mutation MarkUnread($ids: [ID!]!) {
  markUnread(ids: $ids) { messages { id isRead readAt } unreadCount }
}`;
export const DELETE_MESSAGE = `mutation DeleteMessage($id: ID!) {
  deleteMessage(id: $id) { deleted }
}`;
export const SET_TYPING = "mutation SetTyping($with: ID!) { setTyping(withUserId: $with) }";

// Without a `sinceVersion` the feed would start from whatever version the server has when the
// subscription lands, and a change between the page's reads and that moment would be lost.
export const INBOX_EVENTS = `subscription InboxEvents($sinceVersion: Int) {
  inboxEvents(sinceVersion: $sinceVersion) {
    __typename version unreadCount
    ... on MessageReceivedEvent { message { ${MESSAGE_FIELDS} } }
    ... on MessagesReadEvent { messageIds allBefore conversationId }
    ... on MessagesUnreadEvent { messageIds }
    ... on MessageDeletedEvent { messageId }
  }
}`;
export const TYPING = "subscription Typing { typing { fromUserId conversationId } }";
export const READ_RECEIPTS = `subscription ReadReceipts {
  readReceipts { readerId conversationId messageIds upTo readAt }
}`;
