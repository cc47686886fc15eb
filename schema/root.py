"""The root types: every field needs an authenticated caller; schema/fields.py resolves it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.permission import BasePermission

from schema import fields, presence
from schema.events import ChangePage, InboxEvent
from schema.permissions import IsAuthenticated
from schema.presence import ReadReceipt, TypingEvent
from schema.types import (
    ConversationConnection,
    DeleteMessagePayload,
    MarkReadPayload,
    Message,
    MessageConnection,
    Node,
    UnreadCount,
    User,
)

AUTH: list[type[BasePermission]] = [IsAuthenticated]


@strawberry.type
class Query:
    me: User = strawberry.field(resolver=fields.me, permission_classes=AUTH)
    unread_count: int = strawberry.field(resolver=fields.unread_count, permission_classes=AUTH)
    versioned_unread_count: UnreadCount = strawberry.field(
        resolver=fields.versioned_unread_count,
        permission_classes=AUTH,
        description="The caller's unread count with its version, comparable with the versions "
        "`versionedUnreadCount` subscriptions push.",
    )
    messages: MessageConnection = strawberry.field(
        resolver=fields.messages,
        permission_classes=AUTH,
        description="The caller's inbox, newest first. `first` is 1..100.",
    )
    message: Message | None = strawberry.field(
        resolver=fields.message,
        permission_classes=AUTH,
        description="A message the caller sent or received; null for any other id.",
    )
    node: Node | None = strawberry.field(
        resolver=fields.node,
        permission_classes=AUTH,
        description="A message or a conversation of the caller's, by its id (Relay's Node); "
        "null for any other id, another user's or an unknown one alike. BAD_USER_INPUT for an "
        "id that is neither a message id nor a conversation id. A conversation is found "
        "among the caller's 1,000 most recently active ones.",
    )
    conversation: MessageConnection = strawberry.field(
        resolver=fields.conversation,
        permission_classes=AUTH,
        description="Messages between the caller and `withUserId`, both ways, newest first.",
    )
    changes: ChangePage = strawberry.field(
        resolver=fields.changes,
        permission_classes=AUTH,
        description="The changes to the caller's inbox after version `since`, oldest first, "
        "versions contiguous; `first` is 1..100. SYNC_TOO_OLD when they are no longer all "
        "kept (the log keeps at least 7 days): reload. BAD_USER_INPUT for a `since` beyond "
        "the current version.",
    )
    conversations: ConversationConnection = strawberry.field(
        resolver=fields.conversations,
        permission_classes=AUTH,
        description="Every conversation the caller has sent or received in, newest activity "
        "first, each once per page. `first` is 1..100.",
    )


@strawberry.type
class Mutation:
    send_message: Message = strawberry.mutation(
        resolver=fields.send_message, permission_classes=AUTH
    )
    mark_read: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_read, permission_classes=AUTH
    )
    mark_all_read: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_all_read,
        permission_classes=AUTH,
        description="Everything the caller received before the call becomes read, in writes "
        "that do not grow with the backlog; a message delivered later stays unread, even if "
        "it was sent before. `messages` holds at most the 100 newest it flipped.",
    )
    mark_conversation_read: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_conversation_read,
        permission_classes=AUTH,
        description="Everything the caller received from `withUserId` so far becomes read "
        "(the caller's own id: notes to self), in writes that do not grow with their number. "
        "`messages` holds at most the 100 newest it flipped; `unreadCount` is the new total.",
    )
    mark_unread: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_unread,
        permission_classes=AUTH,
        description="The mirror of markRead: the caller's own read messages among `ids` (at "
        "most 100) become unread again. Other ids change nothing and are no error; a second "
        "call gives the same answer. `messages` lists the caller's messages among `ids`.",
    )
    delete_message: DeleteMessagePayload = strawberry.mutation(
        resolver=fields.delete_message,
        permission_classes=AUTH,
        description="The sender takes a message back, for both sides: it leaves the "
        "recipient's inbox (their counts drop if it was unread), the conversation and the "
        "conversation list, and `message(id)` is null for both. A message still queued is "
        "never delivered. The change log keeps its arrival, with `deletedAt` and no body.",
    )
    set_typing: bool = strawberry.mutation(
        resolver=presence.set_typing,
        permission_classes=AUTH,
        description="Tell `withUserId` the caller is typing to them (the `typing` "
        "subscription). True when a push went out now; false when one went out in the last "
        "3 s (the throttle), for a note to self, or while the live feed is unavailable. Call "
        "it every second or two while the user types: every call counts against the typing "
        "rate limit (RATE_LIMITED).",
    )


@strawberry.type
class Subscription:
    unread_count: AsyncGenerator[int, None] = strawberry.subscription(
        resolver=fields.watch_unread_count,
        permission_classes=AUTH,
        description="The caller's unread count now, then after every change.",
    )
    versioned_unread_count: AsyncGenerator[UnreadCount, None] = strawberry.subscription(
        resolver=fields.watch_versioned_unread_count,
        permission_classes=AUTH,
        description="The caller's unread count with its version now, then after every change, "
        "versions increasing. A client that reads slowly skips to the newest value.",
    )
    message_received: AsyncGenerator[Message, None] = strawberry.subscription(
        resolver=fields.watch_messages,
        permission_classes=AUTH,
        description="Each new message for the caller, as it is delivered.",
    )
    typing: AsyncGenerator[TypingEvent, None] = strawberry.subscription(
        resolver=presence.watch_typing,
        permission_classes=AUTH,
        description="Who is typing to the caller: at most one push per sender and "
        "conversation every 3 s. Show the indicator for a few seconds after each.",
    )
    read_receipts: AsyncGenerator[ReadReceipt, None] = strawberry.subscription(
        resolver=presence.watch_read_receipts,
        permission_classes=AUTH,
        description="The caller's sent messages as their recipients read them "
        "(markRead, markConversationRead, markAllRead): one receipt per reader and call, "
        "with the ids of the caller's messages it read (a horizon: at most the 100 newest). "
        "Best effort.",
    )
    inbox_events: AsyncGenerator[InboxEvent, None] = strawberry.subscription(
        resolver=fields.watch_inbox_events,
        permission_classes=AUTH,
        description="Every change to the caller's inbox, versions strictly +1 apart with no "
        "gap and no duplicate: with `sinceVersion`, first those after it from the log, then "
        "live; without, from the current version. Ends with SYNC_TOO_OLD when the log no "
        "longer holds what it needs.",
    )
