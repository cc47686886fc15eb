"""The root types: every field needs an authenticated caller; schema/fields.py resolves it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.permission import BasePermission

from schema import fields
from schema.events import ChangePage, InboxEvent
from schema.permissions import IsAuthenticated
from schema.types import MarkReadPayload, Message, MessageConnection, UnreadCount, User

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


@strawberry.type
class Mutation:
    send_message: Message = strawberry.mutation(
        resolver=fields.send_message, permission_classes=AUTH
    )
    mark_read: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_read, permission_classes=AUTH
    )
    mark_all_read: MarkReadPayload = strawberry.mutation(
        resolver=fields.mark_all_read, permission_classes=AUTH
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
    inbox_events: AsyncGenerator[InboxEvent, None] = strawberry.subscription(
        resolver=fields.watch_inbox_events,
        permission_classes=AUTH,
        description="Every change to the caller's inbox, versions strictly +1 apart with no "
        "gap and no duplicate: with `sinceVersion`, first those after it from the log, then "
        "live; without, from the current version. Ends with SYNC_TOO_OLD when the log no "
        "longer holds what it needs.",
    )
