"""GraphQL object types: the services' values under GraphQL's names. The fields that need more
than the value at hand (a message's body, the viewer's count) ask `resolvers/`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from resolvers import queries
from schema.info import Info
from services.conversations import Conversation as DomainConversation
from services.conversations import ConversationList
from services.cursor import encode_conversation_cursor, encode_cursor
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


async def _last_message(root: Conversation, info: Info) -> Message:
    listed = root.listed
    # The read state is the recipient's inbox entry, one read per row (batched): only when it
    # is asked for, since the list itself is one Query.
    read_at = None
    if _selects(info.selected_fields, frozenset({"isRead", "readAt"})):
        entry = await queries.recipient_entry(
            info.context, listed.last_recipient_id, listed.last_message_id
        )
        read_at = entry.read_at if entry is not None else None
    return Message(
        id=strawberry.ID(listed.last_message_id),
        sender_id=strawberry.ID(listed.last_sender_id),
        recipient_id=strawberry.ID(listed.last_recipient_id),
        sent_at=listed.updated_at,
        is_read=read_at is not None,
        read_at=read_at,
    )


def _selects(selections: list[Selection], names: frozenset[str]) -> bool:
    """Whether any field below these selections (through fragments) is one of `names`."""
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name in names:
            return True
        if isinstance(selection, SelectedField | FragmentSpread | InlineFragment) and _selects(
            selection.selections, names
        ):
            return True
    return False


@strawberry.type
class Conversation:
    id: strawberry.ID = strawberry.field(description="The same for both participants.")
    with_user_id: strawberry.ID = strawberry.field(
        description="The other participant (the caller, for notes to self)."
    )
    listed: strawberry.Private[DomainConversation]

    last_message: Message = strawberry.field(
        resolver=_last_message,
        description="The newest message in either direction, with its recipient's read state.",
    )
    unread_count: int = strawberry.field(
        description="The caller's unread messages in this conversation."
    )
    updated_at: datetime = strawberry.field(description="`sentAt` of `lastMessage`.")

    @classmethod
    def from_domain(cls, conversation: DomainConversation) -> Conversation:
        return cls(
            id=strawberry.ID(conversation.id),
            with_user_id=strawberry.ID(conversation.with_user_id),
            listed=conversation,
            unread_count=conversation.unread_count,
            updated_at=conversation.updated_at,
        )


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo

    @classmethod
    def from_list(cls, listed: ConversationList) -> ConversationConnection:
        edges = [
            ConversationEdge(
                cursor=encode_conversation_cursor(conversation.last_message_id),
                node=Conversation.from_domain(conversation),
            )
            for conversation in listed.conversations
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=listed.has_next_page,
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
