"""The live operations' figures for the capacity profile: a `subscription { unreadCount }`
opened (its snapshot read) and closed, and setTyping to a reader who has the chat open, pushed
(the gate admits: one PUBLISH) and again within the hold (throttled: the gate's SET alone)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import cast

from bench.capacity_deletion import Measured
from bench.metered_services import Metered
from bench.online import watching_typing
from services.domain import UserId


async def measure_live(
    measured: Measured, metered: Metered, tag: str, *, samples: int, reader: UserId
) -> None:
    watcher = UserId(f"bench-watcher-{tag}")

    async def subscribe_once() -> None:
        stream = metered.inbox.watch_unread_count(watcher)
        await anext(stream)
        await cast(AsyncGenerator[int, None], stream).aclose()

    await measured("subscribe_unread_count", 1, subscribe_once)

    # Each sample types from its own user, so that every first call is admitted.
    presence = metered.presence
    typists = [UserId(f"bench-typist-{tag}-{n}") for n in range(samples)]

    async def type_once() -> None:
        for typist in typists:
            await presence.set_typing(typist, reader)

    async with watching_typing(presence, reader):
        await measured("set_typing", samples, type_once)
        await measured("set_typing_throttled", samples, type_once)
