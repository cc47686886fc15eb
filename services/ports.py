"""The small interfaces the services need from the outside world. Adapters implement them
against DynamoDB, SQS and Redis; `tests/fakes.py` implements them in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.domain import (
    InboxEntry,
    InboxEvent,
    Message,
    MessageId,
    Page,
    UnreadCount,
    UserId,
)


class MessageStore(Protocol):
    async def deliver(self, message: Message) -> bool:
        """Store the message, its inbox entry and +1 unread, all or nothing.
        False (and no change) if it was delivered before."""

    async def reserve_client_message_id(
        self, message: Message, client_message_id: str, expires_at: datetime
    ) -> Message:
        """Claim the sender's `client_message_id` for `message`; return the message that
        holds it (the given one, or the one that claimed it first)."""

    async def get_messages(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]: ...

    async def get_entries(
        self, user_id: UserId, ids: Sequence[MessageId]
    ) -> dict[MessageId, InboxEntry]: ...

    async def list_inbox(
        self, user_id: UserId, *, limit: int, before: MessageId | None, unread_only: bool
    ) -> Page: ...

    async def list_conversation(
        self, user_id: UserId, other_id: UserId, *, limit: int, before: MessageId | None
    ) -> Page: ...

    async def mark_read(
        self, user_id: UserId, ids: Sequence[MessageId], read_at: datetime
    ) -> list[InboxEntry]:
        """Mark the user's own messages among `ids` read, each with -1 unread exactly once.
        Returns every one of the user's messages among `ids`, all now read."""

    async def unread_ids(
        self, user_id: UserId, *, up_to: MessageId, limit: int
    ) -> list[MessageId]: ...

    async def unread_count(self, user_id: UserId) -> UnreadCount: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received queue message. `message` is None when the payload cannot be decoded;
    `request_id` is the one it was sent under, when the payload carries one."""

    receipt: str
    message: Message | None
    receive_count: int
    request_id: str | None = None


class DeliveryQueue(Protocol):
    async def enqueue(self, message: Message) -> None: ...

    async def receive(self, *, max_messages: int, wait_seconds: int) -> list[Delivery]: ...

    async def acknowledge(self, receipts: Sequence[str]) -> None: ...


class MessageCache(Protocol):
    """Bodies are immutable, so a cached message never goes stale."""

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]: ...

    async def put_many(self, messages: Iterable[Message]) -> None: ...


class EventPublisher(Protocol):
    async def publish(self, user_id: UserId, event: InboxEvent) -> None: ...


# None in the stream means "events may have been missed": re-read the truth.
EventStreamItem = InboxEvent | None


class EventStream(Protocol):
    def subscribe(
        self, user_id: UserId
    ) -> AbstractAsyncContextManager[AsyncIterator[EventStreamItem]]: ...
