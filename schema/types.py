"""GraphQL object types. They carry data from the services and translate field names; the only
logic here is fetching a message body through the per-request loader."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.context import Info
from services.cursor import encode_cursor
from services.domain import InboxEntry, MessageId, Page
from services.domain import Message as DomainMessage
from services.domain import UnreadCount as DomainUnreadCount
from services.errors import InboxError


@strawberry.type
class User:
    id: strawberry.ID

    @strawberry.field
    async def unread_count(self, info: Info) -> int:
        return await info.context.app.inbox.unread_count(info.context.viewer)


@strawberry.type
class Message:
    id: strawberry.ID
    sender_id: strawberry.ID
    recipient_id: strawberry.ID
    sent_at: datetime
    is_read: bool
    read_at: datetime | None
    known_body: strawberry.Private[str | None] = None

    @strawberry.field
    async def body(self, info: Info) -> str:
        if self.known_body is not None:
            return self.known_body
        message = await info.context.bodies.load(MessageId(self.id))
        if message is None:
            raise InboxError(f"message {self.id} has an inbox entry but no body")
        return message.body

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


@strawberry.input
class SendMessageInput:
    recipient_id: strawberry.ID
    body: str
    client_message_id: str | None = strawberry.UNSET
