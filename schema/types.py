"""GraphQL object types: the services' values under GraphQL's names. The fields that need more
than the value at hand (a message's body, the viewer's count) ask `resolvers/`."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime

import strawberry

from resolvers import queries
from schema.info import Info
from schema.plain_fields import at_hand
from services.conversations import Conversation as DomainConversation
from services.conversations import ConversationList
from services.cursor import encode_conversation_cursor, encode_cursor
from services.domain import InboxEntry, MarkReadResult, MessageId, Page
from services.domain import Message as DomainMessage
from services.domain import UnreadCount as DomainUnreadCount


@strawberry.interface(
    description="An object that `node(id)` can fetch again by its id alone (Relay's Node). "
    "Ids are unique across types."
)
class Node:
    id: strawberry.ID


@strawberry.type
class User:
    id: strawberry.ID

    @strawberry.field
    async def unread_count(self, info: Info) -> int:
        return await queries.unread_count(info.context)


def _body(root: Message, info: Info) -> str | Awaitable[str]:
    # Not `async`: a body already at hand (a page fetches its bodies at once) is returned as
    # it is, and graphql-core then completes the message without a coroutine or a task.
    if root.known_body is not None:
        return root.known_body
    return queries.message_body(info.context, MessageId(root.id))


@strawberry.type
class Message(Node):
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
    body: str | Awaitable[str] = strawberry.field(
        resolver=_body, graphql_type=str, metadata=at_hand("known_body")
    )

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


@strawberry.type(description="Relay's PageInfo. Pages go forward only (`first`/`after`).")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        description="True for a page asked for `after` a cursor (the list went on before it "
        "when that cursor was handed out), false for a first page. Known without a read: "
        "whether what came before has changed since is not checked."
    )
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor; null on an empty page."
    )

    @classmethod
    def of(cls, cursors: list[str], *, has_next_page: bool, has_previous_page: bool) -> PageInfo:
        """For a page whose edges have these cursors, in order."""
        return cls(
            has_next_page=has_next_page,
            end_cursor=cursors[-1] if cursors else None,
            has_previous_page=has_previous_page,
            start_cursor=cursors[0] if cursors else None,
        )


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo

    @classmethod
    def from_page(
        cls, page: Page, bodies: Mapping[MessageId, str] | None = None
    ) -> MessageConnection:
        """`bodies`, when the page fetched them: each message's `body` is then at hand."""
        known = bodies or {}
        edges = [
            MessageEdge(
                cursor=encode_cursor(entry.id), node=Message.from_entry(entry, known.get(entry.id))
            )
            for entry in page.entries
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
            ),
        )


# A message's fields that need its recipient's inbox entry: a page of conversations reads
# their last messages' entries only when one of these is asked for.
READ_STATE_FIELDS = frozenset({"isRead", "readAt"})


def last_message_of(
    listed: DomainConversation, read_at: datetime | None, body: str | None = None
) -> Message:
    return Message(
        id=strawberry.ID(listed.last_message_id),
        sender_id=strawberry.ID(listed.last_sender_id),
        recipient_id=strawberry.ID(listed.last_recipient_id),
        sent_at=listed.updated_at,
        is_read=read_at is not None,
        read_at=read_at,
        known_body=body,
    )


@strawberry.type
class Conversation(Node):
    id: strawberry.ID = strawberry.field(description="The same for both participants.")
    with_user_id: strawberry.ID = strawberry.field(
        description="The other participant (the caller, for notes to self)."
    )
    # Built by the list, with what it fetched for the whole page (LastMessageDetails).
    last_message: Message = strawberry.field(
        description="The newest message in either direction, with its recipient's read state.",
    )
    unread_count: int = strawberry.field(
        description="The caller's unread messages in this conversation."
    )
    updated_at: datetime = strawberry.field(description="`sentAt` of `lastMessage`.")

    @classmethod
    def from_domain(cls, conversation: DomainConversation, last_message: Message) -> Conversation:
        return cls(
            id=strawberry.ID(conversation.id),
            with_user_id=strawberry.ID(conversation.with_user_id),
            last_message=last_message,
            unread_count=conversation.unread_count,
            updated_at=conversation.updated_at,
        )


@dataclass(frozen=True, slots=True)
class LastMessageDetails:
    """What a page of conversations fetched at once for the last messages' fields the
    selection asks for: their bodies, their recipients' read times. What it does not ask for
    is left out (None), and never shown."""

    bodies: Mapping[MessageId, str] | None
    read_ats: Mapping[MessageId, datetime | None] | None

    def message(self, listed: DomainConversation) -> Message:
        message_id = listed.last_message_id
        read_at = self.read_ats.get(message_id) if self.read_ats is not None else None
        body = self.bodies.get(message_id) if self.bodies is not None else None
        return last_message_of(listed, read_at, body)


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo

    @classmethod
    def from_list(
        cls, listed: ConversationList, details: LastMessageDetails
    ) -> ConversationConnection:
        edges = [
            ConversationEdge(
                cursor=encode_conversation_cursor(conversation.position),
                node=Conversation.from_domain(conversation, details.message(conversation)),
            )
            for conversation in listed.conversations
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=listed.has_next_page,
                has_previous_page=listed.has_previous_page,
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
class DeleteMessagePayload:
    deleted: bool = strawberry.field(
        description="True for the sender's first call; false for any other (the recipient, "
        "another user, an unknown id, a second call), which changes nothing."
    )


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
