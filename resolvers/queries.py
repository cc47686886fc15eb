from __future__ import annotations

import strawberry
from strawberry import UNSET

from resolvers.arguments import given
from schema.context import Info
from schema.types import Message, MessageConnection, UnreadCount, User

# An explicit `first: null` means the default, as if the argument were left out.
DEFAULT_PAGE_SIZE = 20


async def me(info: Info) -> User:
    return User(id=strawberry.ID(info.context.viewer))


async def unread_count(info: Info) -> int:
    return await info.context.app.inbox.unread_count(info.context.viewer)


async def versioned_unread_count(info: Info) -> UnreadCount:
    counter = await info.context.app.inbox.unread_counter(info.context.viewer)
    return UnreadCount.from_domain(counter)


async def messages(
    info: Info,
    first: int | None = 20,
    after: str | None = UNSET,
    unread_only: bool | None = False,
) -> MessageConnection:
    page = await info.context.app.inbox.inbox(
        info.context.viewer,
        first=DEFAULT_PAGE_SIZE if first is None else first,
        after=given(after),
        unread_only=bool(unread_only),
    )
    return MessageConnection.from_page(page)


async def message(info: Info, id: strawberry.ID) -> Message | None:
    found = await info.context.app.inbox.message(info.context.viewer, id)
    if found is None:
        return None
    entry, body = found
    return Message.from_entry(entry, body.body)


async def conversation(
    info: Info,
    with_user_id: strawberry.ID,
    first: int | None = 20,
    after: str | None = UNSET,
) -> MessageConnection:
    page = await info.context.app.inbox.conversation(
        info.context.viewer,
        with_user_id,
        first=DEFAULT_PAGE_SIZE if first is None else first,
        after=given(after),
    )
    return MessageConnection.from_page(page)
