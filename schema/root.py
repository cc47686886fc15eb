"""The root types: every field needs an authenticated caller; schema/fields.py resolves it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.permission import BasePermission

from schema import fields
from schema.permissions import IsAuthenticated
from schema.types import (
    ConversationConnection,
    MarkReadPayload,
    Message,
    MessageConnection,
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
    conversation: MessageConnection = strawberry.field(
        resolver=fields.conversation,
        permission_classes=AUTH,
        description="Messages between the caller and `withUserId`, both ways, newest first.",
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
