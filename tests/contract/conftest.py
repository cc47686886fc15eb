"""The two event hubs the contract suite holds to one behaviour: `FakeEventHub` and
`RedisEventHub` on the local stack's Redis. Only the Redis case asks for the session's stack,
so `-k fake` runs without starting it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import pytest
from redis.asyncio import Redis

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.ports import LiveEvent, MessageStore
from services.redis.clients import redis_clients
from services.redis.event_hub import RedisEventHub, channel_for
from services.redis.subscriber_queue import SubscriberQueue
from services.settings import Settings
from tests.contract.message_stores import dynamo_store, fake_store
from tests.fakes import FakeEventHub

# Small, so that a case can overflow a queue with a handful of events; the same for both hubs.
QUEUE_SIZE = 8


class QueueingHub(Protocol):
    """`EventPublisher` and `EventStream`, with the subscriber's queue as its stream, whose
    `pending()` lets a case see what waits without waiting for more."""

    async def publish(self, user_id: UserId, event: LiveEvent) -> None: ...

    def subscribe(
        self, user_id: UserId, *, counts_only: bool = False
    ) -> AbstractAsyncContextManager[SubscriberQueue]: ...


class HubUnderTest:
    """A hub, and a way to see from outside its port whether it still holds a subscription
    for a user (the fake's registry; the Redis server's own count of subscribers)."""

    def __init__(self, hub: QueueingHub, holds: Callable[[UserId], Awaitable[bool]]) -> None:
        self._hub = hub
        self._holds = holds

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        await self._hub.publish(user_id, event)

    def subscribe(
        self, user_id: UserId, *, counts_only: bool = False
    ) -> AbstractAsyncContextManager[SubscriberQueue]:
        return self._hub.subscribe(user_id, counts_only=counts_only)

    async def holds_subscription(self, user_id: UserId) -> bool:
        return await self._holds(user_id)


@contextlib.asynccontextmanager
async def fake_hub() -> AsyncIterator[HubUnderTest]:
    fake = FakeEventHub(queue_size=QUEUE_SIZE)

    async def holds(user_id: UserId) -> bool:
        return fake.subscriber_count(user_id) > 0

    yield HubUnderTest(fake, holds)


@contextlib.asynccontextmanager
async def redis_hub(stack: StackEndpoints) -> AsyncIterator[HubUnderTest]:
    clients = redis_clients(Settings(redis_url=stack.redis_url))
    observer = Redis.from_url(stack.redis_url)
    hub = RedisEventHub(clients.channels, queue_size=QUEUE_SIZE)
    task = asyncio.create_task(hub.run())

    async def holds(user_id: UserId) -> bool:
        counts = await observer.pubsub_numsub(channel_for(user_id))
        return bool(counts) and int(counts[0][1]) > 0

    try:
        yield HubUnderTest(hub, holds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await observer.aclose()
        await clients.aclose()


@pytest.fixture(params=["fake", "redis"])
async def hub(request: pytest.FixtureRequest) -> AsyncIterator[HubUnderTest]:
    stack = None if request.param == "fake" else request.getfixturevalue("stack")
    async with fake_hub() if stack is None else redis_hub(stack) as under_test:
        yield under_test


@pytest.fixture(params=["fake", "dynamodb"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MessageStore]:
    if request.param == "fake":
        async with fake_store() as fake:
            yield fake
        return
    async with dynamo_store(
        request.getfixturevalue("stack"), request.getfixturevalue("session_tag")
    ) as dynamo:
        yield dynamo
