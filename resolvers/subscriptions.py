from __future__ import annotations

from collections.abc import AsyncGenerator

from schema.context import Info
from schema.types import Message, UnreadCount


async def unread_count(info: Info) -> AsyncGenerator[int, None]:
    async for count in info.context.app.inbox.watch_unread_count(info.context.viewer):
        yield count


async def versioned_unread_count(info: Info) -> AsyncGenerator[UnreadCount, None]:
    async for counter in info.context.app.inbox.watch_unread_counter(info.context.viewer):
        yield UnreadCount.from_domain(counter)


async def message_received(info: Info) -> AsyncGenerator[Message, None]:
    async for message in info.context.app.inbox.watch_messages(info.context.viewer):
        yield Message.unread(message)
