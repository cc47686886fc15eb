"""The root types: every field needs an authenticated caller and delegates to `resolvers/`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.permission import BasePermission

from resolvers import mutations, queries, subscriptions
from schema.permissions import IsAuthenticated
from schema.types import MarkReadPayload, Message, MessageConnection, UnreadCount, User

AUTH: list[type[BasePermission]] = [IsAuthenticated]


@strawberry.type
class Query:
    me: User = strawberry.field(resolver=queries.me, permission_classes=AUTH)
    unread_count: int = strawberry.field(resolver=queries.unread_count, permission_classes=AUTH)
    versioned_unread_count: UnreadCount = strawberry.field(
        resolver=queries.versioned_unread_count,
        permission_classes=AUTH,
        description="The caller's unread count with its version, comparable with the versions "
        "`versionedUnreadCount` subscriptions push.",
    )
    messages: MessageConnection = strawberry.field(
        resolver=queries.messages,
        permission_classes=AUTH,
        description="The caller's inbox, newest first. `first` is 1..100.",
    )
    message: Message | None = strawberry.field(
        resolver=queries.message,
        permission_classes=AUTH,
        description="A message the caller sent or received; null for any other id.",
    )
    conversation: MessageConnection = strawberry.field(
        resolver=queries.conversation,
        permission_classes=AUTH,
        description="Messages between the caller and `withUserId`, both ways, newest first.",
    )


@strawberry.type
class Mutation:
    send_message: Message = strawberry.mutation(
        resolver=mutations.send_message, permission_classes=AUTH
    )
    mark_read: MarkReadPayload = strawberry.mutation(
        resolver=mutations.mark_read, permission_classes=AUTH
    )
    mark_all_read: MarkReadPayload = strawberry.mutation(
        resolver=mutations.mark_all_read, permission_classes=AUTH
    )


@strawberry.type
class Subscription:
    unread_count: AsyncGenerator[int, None] = strawberry.subscription(
        resolver=subscriptions.unread_count,
        permission_classes=AUTH,
        description="The caller's unread count now, then after every change.",
    )
    versioned_unread_count: AsyncGenerator[UnreadCount, None] = strawberry.subscription(
        resolver=subscriptions.versioned_unread_count,
        permission_classes=AUTH,
        description="The caller's unread count with its version now, then after every change, "
        "versions increasing. A client that reads slowly skips to the newest value.",
    )
    message_received: AsyncGenerator[Message, None] = strawberry.subscription(
        resolver=subscriptions.message_received,
        permission_classes=AUTH,
        description="Each new message for the caller, as it is delivered.",
    )
