"""The root fields' resolvers on the GraphQL side: arguments as GraphQL gives them, handed to
`resolvers/` as plain values, and what comes back shaped into the types of schema/types.py."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import cast

import strawberry
from strawberry import UNSET

from resolvers import mutations, queries, subscriptions
from schema.arguments import CHANGES_PAGE_SIZE, given, page_size
from schema.events import ChangePage, InboxEvent, change_page, inbox_event
from schema.info import Info
from schema.selection import selects_path
from schema.types import (
    READ_STATE_FIELDS,
    Conversation,
    ConversationConnection,
    DeleteMessagePayload,
    LastMessageDetails,
    MarkReadPayload,
    Message,
    MessageConnection,
    Node,
    SendMessageInput,
    UnreadCount,
    User,
)
from services.conversations import Conversation as DomainConversation
from services.domain import Page
from services.nodes import MessageNode

BODY_PATH = ("edges", "node", "body")
LAST_MESSAGE_PATH = ("edges", "node", "lastMessage")
NODE_LAST_MESSAGE_PATH = ("lastMessage",)


async def me(info: Info) -> User:
    return User(id=strawberry.ID(info.context.viewer))


async def unread_count(info: Info) -> int:
    return await queries.unread_count(info.context)


async def versioned_unread_count(info: Info) -> UnreadCount:
    return UnreadCount.from_domain(await queries.unread_counter(info.context))


async def messages(
    info: Info,
    first: int | None = 20,
    after: str | None = UNSET,
    unread_only: bool | None = False,
) -> MessageConnection:
    page = await queries.inbox(
        info.context, first=page_size(first), after=given(after), unread_only=bool(unread_only)
    )
    return await _message_connection(info, page)


async def message(info: Info, id: strawberry.ID) -> Message | None:
    found = await queries.message(info.context, id)
    if found is None:
        return None
    entry, body = found
    return Message.from_entry(entry, body.body)


async def node(info: Info, id: strawberry.ID) -> Node | None:
    found = await queries.node(info.context, id)
    if found is None:
        return None
    if isinstance(found, MessageNode):
        return Message.from_entry(found.entry, found.message.body)
    details = await _last_message_details(info, [found], NODE_LAST_MESSAGE_PATH)
    return Conversation.from_domain(found, details.message(found))


async def conversation(
    info: Info,
    with_user_id: strawberry.ID,
    first: int | None = 20,
    after: str | None = UNSET,
) -> MessageConnection:
    page = await queries.conversation(
        info.context, with_user_id, first=page_size(first), after=given(after)
    )
    return await _message_connection(info, page)


async def _message_connection(info: Info, page: Page) -> MessageConnection:
    """The page's bodies, if asked for, are fetched together rather than one field at a time."""
    bodies = None
    if selects_path(info, BODY_PATH):
        bodies = await queries.message_bodies(info.context, [entry.id for entry in page.entries])
    return MessageConnection.from_page(page, bodies)


async def changes(info: Info, since: int, first: int | None = CHANGES_PAGE_SIZE) -> ChangePage:
    page = await queries.changes(
        info.context, since=since, first=CHANGES_PAGE_SIZE if first is None else first
    )
    return change_page(info.context.viewer, page)


async def conversations(
    info: Info, first: int | None = 20, after: str | None = UNSET
) -> ConversationConnection:
    listed = await queries.conversations(info.context, first=page_size(first), after=given(after))
    details = await _last_message_details(info, listed.conversations, LAST_MESSAGE_PATH)
    return ConversationConnection.from_list(listed, details)


async def _last_message_details(
    info: Info, rows: list[DomainConversation], path: tuple[str, ...]
) -> LastMessageDetails:
    """What the rows' last messages (at `path` under the field) are asked for, fetched for all
    of them at once."""
    bodies = read_ats = None
    if selects_path(info, (*path, "body")):
        bodies = await queries.message_bodies(info.context, [row.last_message_id for row in rows])
    if selects_path(info, path, READ_STATE_FIELDS):
        keys = [(row.last_recipient_id, row.last_message_id) for row in rows]
        read_ats = await queries.read_times(info.context, keys)
    return LastMessageDetails(bodies, read_ats)


async def send_message(info: Info, input: SendMessageInput) -> Message:
    sent = await mutations.send_message(
        info.context, input.recipient_id, input.body, given(input.client_message_id)
    )
    return Message.unread(sent)


async def mark_read(info: Info, ids: list[strawberry.ID]) -> MarkReadPayload:
    return MarkReadPayload.from_result(await mutations.mark_read(info.context, ids))


async def mark_all_read(info: Info) -> MarkReadPayload:
    return MarkReadPayload.from_result(await mutations.mark_all_read(info.context))


async def mark_unread(info: Info, ids: list[strawberry.ID]) -> MarkReadPayload:
    return MarkReadPayload.from_result(await mutations.mark_unread(info.context, ids))


async def mark_conversation_read(info: Info, with_user_id: strawberry.ID) -> MarkReadPayload:
    return MarkReadPayload.from_result(
        await mutations.mark_conversation_read(info.context, with_user_id)
    )


async def delete_message(info: Info, id: strawberry.ID) -> DeleteMessagePayload:
    return DeleteMessagePayload(deleted=await mutations.delete_message(info.context, id))


def watch_unread_count(info: Info) -> AsyncGenerator[int, None]:
    # The service's generator itself, not one wrapped around it: one frame fewer held by each
    # of thousands of idle subscriptions. (The service promises only an AsyncIterator.)
    return cast(AsyncGenerator[int, None], subscriptions.unread_count(info.context))


async def watch_versioned_unread_count(info: Info) -> AsyncGenerator[UnreadCount, None]:
    async for counter in subscriptions.versioned_unread_count(info.context):
        yield UnreadCount.from_domain(counter)


async def watch_messages(info: Info) -> AsyncGenerator[Message, None]:
    async for received in subscriptions.message_received(info.context):
        yield Message.unread(received)


async def watch_inbox_events(
    info: Info, since_version: int | None = UNSET
) -> AsyncGenerator[InboxEvent, None]:
    viewer = info.context.viewer
    async for event in subscriptions.inbox_events(info.context, given(since_version)):
        yield inbox_event(viewer, event)
