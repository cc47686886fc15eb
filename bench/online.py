"""Users kept online while the capacity run measures: their subscriptions open and consumed,
so that the pushes an operation causes are counted as a deployment pays for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.domain import UserId
from services.inbox import InboxService
from services.presence import PresenceService


@contextlib.asynccontextmanager
async def watching_typing(presence: PresenceService, user: UserId) -> AsyncIterator[None]:
    """`user` has a chat open: the typing subscription, consumed as pushes arrive."""

    async def watch() -> None:
        async for _ in presence.watch_typing(user):
            pass

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.1)  # its subscription's confirmation, as in online
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def online(inbox: InboxService, user: UserId) -> AsyncIterator[None]:
    """The recipient has the demo page open: both subscriptions, consumed as they arrive."""
    ready = asyncio.Event()

    async def count() -> None:
        async for _ in inbox.watch_unread_count(user):
            ready.set()

    async def messages() -> None:
        async for _ in inbox.watch_messages(user):
            pass

    tasks = [asyncio.create_task(count()), asyncio.create_task(messages())]
    await ready.wait()
    await asyncio.sleep(0.1)  # the second subscription's confirmation
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
