"""The documents the API benchmarks send: an inbox page of 20 with five fields a message (about
125 resolved fields), the unread count, and issue 13's read paths: a page of 20 conversations as
the demo's list asks for it, and a page of 100 changes as a client catching up asks for it."""

PAGE_QUERY = (
    "query Inbox { messages(first: 20) { edges { cursor node { id senderId body sentAt isRead } }"
    " pageInfo { hasNextPage endCursor } } }"
)
UNREAD_QUERY = "query Unread { unreadCount }"
CONVERSATIONS_QUERY = (
    "query Conversations { conversations(first: 20) { edges { cursor node { id withUserId"
    " unreadCount updatedAt lastMessage { id body senderId sentAt } } }"
    " pageInfo { hasNextPage endCursor } } }"
)
# bench/serve.py seeds FAKE_USER's log so that more than 100 changes follow version 0.
CHANGES_QUERY = (
    "query Changes { changes(since: 0, first: 100) { version hasMore events {"
    " __typename version unreadCount"
    " ... on MessageReceivedEvent { message { id body sentAt } }"
    " ... on MessagesReadEvent { messageIds allBefore conversationId }"
    " ... on MessagesUnreadEvent { messageIds }"
    " ... on MessageDeletedEvent { messageId } } } }"
)
CHANGES_PAGE_OF_20_QUERY = CHANGES_QUERY.replace("first: 100", "first: 20")
