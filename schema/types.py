"""GraphQL object types: the services' values under GraphQL's names. The fields that need more
than the value at hand (a message's body, the viewer's count) ask `resolvers/`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import queries
from schema.info import Info
from services.cursor import encode_cursor
from services.domain import InboxEntry, MarkReadResult, MessageId, Page
from services.domain import Message as DomainMessage
from services.domain import UnreadCount as DomainUnreadCount


@strawberry.type
class User:
    id: strawberry.ID

    @strawberry.field
    async def unread_count(self, info: Info) -> int:
        return await queries.unread_count(info.context)


@strawberry.type
class Message:
    id: strawberry.ID
    sender_id: strawberry.ID
    recipient_id: strawberry.ID
    sent_at: datetime
    is_read: bool
    read_at: datetime | None
    deleted_at: datetime | None = strawberry.field(
        default=None,
        description="Null unless the sender deleted the message; its body is then empty.",
    )
    known_body: strawberry.Private[str | None] = None

    @strawberry.field
    async def body(self, info: Info) -> str:
        if self.known_body is not None:
            return self.known_body
        return await queries.message_body(info.context, MessageId(self.id))

    @classmethod
    def from_entry(cls, entry: InboxEntry, body: str | None = None) -> Message:
        return cls(
            id=strawberry.ID(entry.id),
            sender_id=strawberry.ID(entry.sender_id),
            recipient_id=strawberry.ID(entry.recipient_id),
            sent_at=entry.sent_at,
            is_read=entry.is_read,
            read_at=entry.read_at,
            known_body=body,
        )

    @classmethod
    def unread(cls, message: DomainMessage) -> Message:
        return cls.from_entry(InboxEntry.unread(message), message.body)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> MessageConnection:
        edges = [
            MessageEdge(cursor=encode_cursor(entry.id), node=Message.from_entry(entry))
            for entry in page.entries
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.type(
    description="An unread count with its version. Versions are per user and grow with every "
    "change of the count, across queries, subscriptions and server processes: keep the value "
    "with the highest version and ignore any with a version at or below the one you have."
)
class UnreadCount:
    count: int
    version: int = strawberry.field(
        description="Orders the values of this user's count; a higher version is newer."
    )

    @classmethod
    def from_domain(cls, counter: DomainUnreadCount) -> UnreadCount:
        return cls(count=counter.count, version=counter.version)


@strawberry.type
class MarkReadPayload:
    messages: list[Message]
    unread_count: int
    versioned_unread_count: UnreadCount = strawberry.field(
        description="The count after this change, with its version (see UnreadCount)."
    )

    @classmethod
    def from_result(cls, result: MarkReadResult) -> MarkReadPayload:
        return cls(
            messages=[Message.from_entry(entry) for entry in result.entries],
            unread_count=result.unread_count,
            versioned_unread_count=UnreadCount.from_domain(result.counter),
        )


@strawberry.input
class SendMessageInput:
    recipient_id: strawberry.ID
    body: str
    client_message_id: str | None = strawberry.UNSET
