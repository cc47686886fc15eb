"""The documents the API benchmarks send: an inbox page of 20 with five fields a message (about
125 resolved fields), and the unread count."""

PAGE_QUERY = (
    "query Inbox { messages(first: 20) { edges { cursor node { id senderId body sentAt isRead } }"
    " pageInfo { hasNextPage endCursor } } }"
)
UNREAD_QUERY = "query Unread { unreadCount }"
