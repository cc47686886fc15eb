"""The Redis adapters against redis-server: the message cache and the pub/sub hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from services.app import App
from services.domain import (
    Message,
    MessageReceived,
    UnreadCountChanged,
    UserId,
    new_message_id,
)
from services.ports import EventStreamItem
from services.redis.message_cache import KEY_PREFIX, RedisMessageCache
from tests.conftest import new_user


def a_message(recipient: str) -> Message:
    now = datetime.now(UTC).replace(microsecond=0)
    return Message(new_message_id(now), UserId("bob"), UserId(recipient), "hi", now)


async def next_item(stream: AsyncIterator[EventStreamItem]) -> EventStreamItem:
    return await asyncio.wait_for(anext(stream), 5)


async def test_cache_round_trip_with_ttl(app: App) -> None:
    cache = RedisMessageCache(app.clients.redis, ttl_seconds=60)
    stored, absent = a_message("alice"), a_message("alice")
    await cache.put_many([stored])
    assert await cache.get_many([stored.id, absent.id]) == {stored.id: stored}
    ttl = await app.clients.redis.ttl(KEY_PREFIX + stored.id)
    assert 0 < ttl <= 60


async def test_events_reach_every_subscriber_of_the_user_only(app: App) -> None:
    alice, carol = UserId(new_user("alice")), UserId(new_user("carol"))
    async with (
        app.hub.subscribe(alice) as first,
        app.hub.subscribe(alice) as second,
        app.hub.subscribe(carol) as other,
    ):
        event = UnreadCountChanged(alice, 3, 7)
        await app.hub.publish(alice, event)
        received = MessageReceived(a_message(alice))
        await app.hub.publish(alice, received)
        assert [await next_item(first), await next_item(first)] == [event, received]
        assert [await next_item(second), await next_item(second)] == [event, received]
        await app.hub.publish(carol, UnreadCountChanged(carol, 1, 1))
        assert await next_item(other) == UnreadCountChanged(carol, 1, 1)


async def test_racing_first_subscribes_all_receive(app: App) -> None:
    alice = UserId(new_user("alice"))
    async with AsyncExitStack() as stack:
        streams = await asyncio.gather(
            *(stack.enter_async_context(app.hub.subscribe(alice)) for _ in range(50))
        )
        event = UnreadCountChanged(alice, 1, 1)
        await app.hub.publish(alice, event)
        items = await asyncio.gather(*(next_item(s) for s in streams))
        assert items == [event] * 50


async def test_one_pubsub_connection_for_many_subscribers(app: App) -> None:
    users = [UserId(new_user("u")) for _ in range(20)]
    async with AsyncExitStack() as stack:
        for user in users:
            await stack.enter_async_context(app.hub.subscribe(user))
        clients = await app.clients.redis.client_list(_type="pubsub")
        ours = [c for c in clients if int(c.get("psub", 0)) + int(c.get("sub", 0)) >= len(users)]
        assert len(ours) == 1


async def drain_now(stream: AsyncIterator[EventStreamItem]) -> list[EventStreamItem]:
    """What waits for `stream`, read until nothing more comes for a while."""
    drained: list[EventStreamItem] = [await next_item(stream)]
    while True:
        try:
            drained.append(await asyncio.wait_for(anext(stream), 0.2))
        except TimeoutError:
            return drained


async def test_slow_subscriber_gets_a_gap_marker_not_unbounded_memory(app: App) -> None:
    alice = UserId(new_user("alice"))
    async with app.hub.subscribe(alice) as slow, app.hub.subscribe(alice) as fast:
        messages = [a_message(alice) for _ in range(300)]
        for message in messages:
            await app.hub.publish(alice, MessageReceived(message))
            assert await next_item(fast) == MessageReceived(message)
        # The slow one read nothing: its queue overflowed and was replaced by a gap marker.
        drained = await drain_now(slow)
        assert None in drained
        assert len(drained) <= 256


async def test_slow_subscriber_holds_only_the_newest_count(app: App) -> None:
    alice = UserId(new_user("alice"))
    async with app.hub.subscribe(alice) as slow, app.hub.subscribe(alice) as fast:
        for version in range(1, 301):
            await app.hub.publish(alice, UnreadCountChanged(alice, version, version))
            assert await next_item(fast) == UnreadCountChanged(alice, version, version)
        # Each count replaced the one before it in the slow one's queue: no backlog, no gap.
        assert await drain_now(slow) == [UnreadCountChanged(alice, 300, 300)]


async def test_resubscribe_after_everyone_left(app: App) -> None:
    alice = UserId(new_user("alice"))
    async with app.hub.subscribe(alice):
        pass
    async with app.hub.subscribe(alice) as stream:
        await app.hub.publish(alice, UnreadCountChanged(alice, 2, 2))
        assert await next_item(stream) == UnreadCountChanged(alice, 2, 2)
