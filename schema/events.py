"""The change log's GraphQL types: one event per version of the caller's inbox, as `changes`
pages and the `inboxEvents` subscription give them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.types import Message
from services.change_log import (
    LiveChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import UserId, conversation_id
from services.sync import SyncPage


@strawberry.interface(
    description="One change to the caller's inbox. Versions are contiguous: each event's is "
    "one more than the one before, so a client that keeps the last version it saw knows it "
    "missed nothing."
)
class InboxEvent:
    version: int
    unread_count: int = strawberry.field(description="The caller's unread count after it.")


@strawberry.type(description="A message arrived in the caller's inbox.")
class MessageReceivedEvent(InboxEvent):
    message: Message = strawberry.field(
        description="As received (unread). A message the sender deleted since comes with "
        "`deletedAt` set and an empty body."
    )


@strawberry.type(description="Messages became read: listed by id, or up to a time.")
class MessagesReadEvent(InboxEvent):
    message_ids: list[strawberry.ID]
    all_before: datetime | None = strawberry.field(
        description="Set when everything received before this time became read (markAllRead, "
        "or with `conversationId` a whole conversation); `messageIds` may then be empty."
    )
    conversation_id: strawberry.ID | None = None


@strawberry.type(description="Read messages became unread again.")
class MessagesUnreadEvent(InboxEvent):
    message_ids: list[strawberry.ID]


@strawberry.type(description="The sender deleted a message the caller had received.")
class MessageDeletedEvent(InboxEvent):
    message_id: strawberry.ID


EVENT_TYPES = (MessageReceivedEvent, MessagesReadEvent, MessagesUnreadEvent, MessageDeletedEvent)


@strawberry.type(description="A page of the caller's changes, oldest first.")
class ChangePage:
    events: list[InboxEvent]
    version: int = strawberry.field(
        description="The last event's version (the `since` asked about when there is none): "
        "the `since` of the next page."
    )
    has_more: bool


def inbox_event(viewer: UserId, event: LiveChange) -> InboxEvent:
    change = event.change
    payload = change.payload
    version, count = change.version, change.count
    if isinstance(payload, MessageReceivedChange):
        if event.message is None:
            raise ValueError("a received change without its message")
        message = Message.unread(event.message)
        message.deleted_at = payload.deleted_at
        return MessageReceivedEvent(version=version, unread_count=count, message=message)
    if isinstance(payload, MessagesReadChange):
        other = payload.with_user_id
        return MessagesReadEvent(
            version=version,
            unread_count=count,
            message_ids=[strawberry.ID(i) for i in payload.message_ids],
            all_before=payload.all_before,
            conversation_id=(
                strawberry.ID(conversation_id(viewer, other)) if other is not None else None
            ),
        )
    if isinstance(payload, MessagesUnreadChange):
        return MessagesUnreadEvent(
            version=version,
            unread_count=count,
            message_ids=[strawberry.ID(i) for i in payload.message_ids],
        )
    if isinstance(payload, MessageDeletedChange):
        return MessageDeletedEvent(
            version=version, unread_count=count, message_id=strawberry.ID(payload.message_id)
        )
    raise TypeError(f"no GraphQL type for {type(payload).__name__}")


def change_page(viewer: UserId, page: SyncPage) -> ChangePage:
    return ChangePage(
        events=[inbox_event(viewer, event) for event in page.events],
        version=page.version,
        has_more=page.has_more,
    )
