from __future__ import annotations

import asyncio
from datetime import datetime

from resolvers.context import Context
from services.conversations import ConversationList
from services.domain import InboxEntry, Message, MessageId, Page, UnreadCount, UserId
from services.nodes import Node, find_node
from services.sync import SyncPage


async def unread_count(context: Context) -> int:
    if context.serves_one_operation:
        return (await unread_counter(context)).count
    return await context.app.inbox.unread_count(context.viewer)


async def unread_counter(context: Context) -> UnreadCount:
    """The viewer's counter, read once per HTTP request: the response cache's version check,
    `unreadCount`, `versionedUnreadCount` and every `User.unreadCount` share one read, so they
    agree with each other and with the version an answer is kept under. A failed read is not
    kept: the next caller reads again, as an operation did when the response cache could not
    read the version."""
    if not context.serves_one_operation:
        return await context.app.inbox.unread_counter(context.viewer)
    read = context.counter_read
    if read is None:
        # A task, not a value: the fields that want the count run concurrently.
        read = asyncio.create_task(context.app.inbox.unread_counter(context.viewer))
        context.counter_read = read
    try:
        # graphql-core cancels a field when a sibling fails: that must not cancel the read the
        # other fields wait for.
        return await asyncio.shield(read)
    except Exception:
        if context.counter_read is read:
            context.counter_read = None
        raise


def forget_unread_counter(context: Context) -> None:
    """For a change to the count: whatever reads it afterwards reads it again."""
    context.counter_read = None


async def inbox(context: Context, *, first: int, after: str | None, unread_only: bool) -> Page:
    page = await context.app.inbox.inbox(
        context.viewer, first=first, after=after, unread_only=unread_only
    )
    context.shows_until(page.first_expiry)
    return page


async def conversation(
    context: Context, with_user_id: str, *, first: int, after: str | None
) -> Page:
    return await context.app.inbox.conversation(
        context.viewer, with_user_id, first=first, after=after
    )


async def conversations(context: Context, *, first: int, after: str | None) -> ConversationList:
    return await context.app.conversations.conversations(context.viewer, first=first, after=after)


async def message(context: Context, message_id: str) -> tuple[InboxEntry, Message] | None:
    return await context.app.inbox.message(context.viewer, message_id)


async def node(context: Context, node_id: str) -> Node | None:
    return await find_node(context.app.inbox, context.app.conversations, context.viewer, node_id)


async def message_body(context: Context, message_id: MessageId) -> str:
    """The body of a message the viewer has already been shown: through the request's loader,
    so a page of messages costs one lookup."""
    return _shown_body(await context.bodies.load(message_id))


def _shown_body(found: Message | None) -> str:
    # None: deleted since. A listing from an index (the conversation view, the conversation
    # list) can show a deleted message's entry for as long as the index lags, under a second;
    # its body is gone, and never served again.
    return "" if found is None else found.body


async def message_bodies(context: Context, ids: list[MessageId]) -> dict[MessageId, str]:
    """The bodies of a page of messages the viewer is being shown, in one lookup: as
    `message_body` gives each (empty for a message deleted since)."""
    found = await context.app.inbox.load_messages(ids)
    return {message_id: _shown_body(found.get(message_id)) for message_id in ids}


async def read_times(
    context: Context, keys: list[tuple[UserId, MessageId]]
) -> dict[MessageId, datetime | None]:
    """When each recipient read each of these messages (None: unread, or deleted since), for
    messages the viewer has already been shown: one batch read per recipient."""
    found = await context.app.conversations.load_entries(keys)
    return {message_id: entry.read_at for (_, message_id), entry in found.items()}


async def changes(context: Context, *, since: int, first: int) -> SyncPage:
    return await context.app.sync.changes(context.viewer, since=since, first=first)
