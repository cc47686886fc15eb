from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import cast

from schema.context import Info
from schema.types import Message, UnreadCount


def unread_count(info: Info) -> AsyncGenerator[int, None]:
    # The service's generator itself, not one wrapped around it: one frame fewer held by each
    # of thousands of idle subscriptions. (The service promises only an AsyncIterator.)
    watch = info.context.app.inbox.watch_unread_count(info.context.viewer)
    return cast(AsyncGenerator[int, None], watch)


async def versioned_unread_count(info: Info) -> AsyncGenerator[UnreadCount, None]:
    async for counter in info.context.app.inbox.watch_unread_counter(info.context.viewer):
        yield UnreadCount.from_domain(counter)


async def message_received(info: Info) -> AsyncGenerator[Message, None]:
    async for message in info.context.app.inbox.watch_messages(info.context.viewer):
        yield Message.unread(message)
