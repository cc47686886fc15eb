"""What the message cache, the persisted query store and the send rate limiter promise, held of
each fake and of its Redis adapter on the local stack's Redis alike: every case runs on both.
Only the Redis cases ask for the session's stack, so `-k fake` starts nothing."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis

from services.domain import Message, UserId, new_message_id
from services.errors import DependencyUnavailable, RateLimited
from services.local.stack import StackEndpoints
from services.ports import MessageCache, PersistedQueryStore, SendRateLimiter
from services.redis.message_cache import RedisMessageCache
from services.redis.persisted_queries import RedisPersistedQueryStore, document_hash
from services.redis.rate_limit import RedisSendRateLimiter
from tests.conftest import new_user
from tests.fakes import FakeMessageCache, FakePersistedQueryStore, FakeSendRateLimiter

T = TypeVar("T")

LIMIT = 3
WINDOW_SECONDS = 60


@contextlib.asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        yield client
    finally:
        await client.aclose()


def nowhere() -> str:
    """A Redis URL nothing listens on: every command fails to connect."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@contextlib.asynccontextmanager
async def fake_or_redis(
    request: pytest.FixtureRequest, fake: T, on_redis: Callable[[Redis], T]
) -> AsyncIterator[T]:
    """`fake` for the "fake" case; else the adapter `on_redis` builds on the stack's Redis."""
    if request.param == "fake":
        yield fake
        return
    stack: StackEndpoints = request.getfixturevalue("stack")
    async with redis_client(stack.redis_url) as client:
        yield on_redis(client)


def a_message(body: str) -> Message:
    # Whole milliseconds: what the wire keeps, so a decoded copy compares equal.
    now = datetime.now(UTC).replace(microsecond=123_000)
    return Message(new_message_id(now), UserId(new_user("bob")), UserId(new_user("al")), body, now)


# --- MessageCache ---------------------------------------------------------------------------


@pytest.fixture(params=["fake", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[MessageCache]:
    cache: MessageCache = FakeMessageCache()
    async with fake_or_redis(request, cache, lambda c: RedisMessageCache(c, 60)) as under_test:
        yield under_test


@pytest.fixture(params=["fake", "redis"])
async def broken_cache(request: pytest.FixtureRequest) -> AsyncIterator[MessageCache]:
    """The cache while its Redis does not answer."""
    if request.param == "fake":
        fake = FakeMessageCache()
        fake.unavailable = True
        yield fake
        return
    async with redis_client(nowhere()) as client:
        yield RedisMessageCache(client, ttl_seconds=60)


async def test_the_cache_gives_back_what_was_put_and_omits_the_rest(cache: MessageCache) -> None:
    kept = [a_message("hello"), a_message("ünïcødé ✉️ " + "x" * 5000)]
    unknown = a_message("never put")
    await cache.put_many(kept)
    found = await cache.get_many([kept[1].id, unknown.id, kept[0].id])
    assert found == {message.id: message for message in kept}


async def test_the_cache_takes_empty_batches(cache: MessageCache) -> None:
    await cache.put_many([])
    await cache.forget([])
    assert await cache.get_many([]) == {}


async def test_a_forgotten_message_reads_as_a_tombstone_that_no_put_overwrites(
    cache: MessageCache,
) -> None:
    cached, never_cached, kept = a_message("cached"), a_message("not cached"), a_message("kept")
    await cache.put_many([cached, kept])
    await cache.forget([cached.id, never_cached.id])
    assert await cache.get_many([cached.id, never_cached.id, kept.id]) == {
        cached.id: None,
        never_cached.id: None,
        kept.id: kept,
    }
    # A reader that loaded the bodies before the deletion puts them back: in vain.
    await cache.put_many([cached, never_cached])
    assert await cache.get_many([cached.id, never_cached.id]) == {
        cached.id: None,
        never_cached.id: None,
    }


async def test_a_cached_body_is_never_replaced(cache: MessageCache) -> None:
    first = a_message("first")
    await cache.put_many([first])
    # Bodies never change, so a later put of the same id keeps what is there.
    await cache.put_many(
        [Message(first.id, first.sender_id, first.recipient_id, "other", first.sent_at)]
    )
    assert await cache.get_many([first.id]) == {first.id: first}


async def test_an_unreachable_cache_says_so_in_both_directions(
    broken_cache: MessageCache,
) -> None:
    message = a_message("lost")
    with pytest.raises(DependencyUnavailable):
        await broken_cache.put_many([message])
    with pytest.raises(DependencyUnavailable):
        await broken_cache.get_many([message.id])
    with pytest.raises(DependencyUnavailable):
        await broken_cache.forget([message.id])


# --- PersistedQueryStore --------------------------------------------------------------------


@pytest.fixture(params=["fake", "redis"])
async def persisted(request: pytest.FixtureRequest) -> AsyncIterator[PersistedQueryStore]:
    store: PersistedQueryStore = FakePersistedQueryStore()
    async with fake_or_redis(request, store, RedisPersistedQueryStore) as under_test:
        yield under_test


def a_document() -> str:
    return f"query Q_{new_user('q').replace('-', '_')} {{ me {{ id }} }} # ünïcødé"


async def test_a_registered_document_is_found_by_its_hash(persisted: PersistedQueryStore) -> None:
    query = a_document()
    assert await persisted.get(document_hash(query)) is None
    await persisted.put(document_hash(query), query)
    assert await persisted.get(document_hash(query)) == query


async def test_a_document_under_another_hash_is_never_served(
    persisted: PersistedQueryStore,
) -> None:
    # The key is the document's hash: whatever else is under it was not registered by a client
    # that knew the document, and must not run.
    query, other = a_document(), a_document()
    await persisted.put(document_hash(query), other)
    assert await persisted.get(document_hash(query)) is None


# --- SendRateLimiter ------------------------------------------------------------------------


@pytest.fixture(params=["fake", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[SendRateLimiter]:
    fake: SendRateLimiter = FakeSendRateLimiter(LIMIT, retry_after_seconds=WINDOW_SECONDS)

    def on_redis(client: Redis) -> SendRateLimiter:
        return RedisSendRateLimiter(client, limit=LIMIT, window_seconds=WINDOW_SECONDS)

    async with fake_or_redis(request, fake, on_redis) as under_test:
        yield under_test


async def refused(admit: Callable[[], Awaitable[Any]]) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        await admit()
    return caught.value


async def test_the_limit_admits_that_many_sends_and_then_refuses(
    limiter: SendRateLimiter,
) -> None:
    sender = UserId(new_user("sender"))
    for _ in range(LIMIT):
        await limiter.admit(sender)
    error = await refused(lambda: limiter.admit(sender))
    assert 1 <= error.retry_after_seconds <= WINDOW_SECONDS
    assert str(LIMIT) in str(error)
    # Still refused: a refused send is not a free one.
    await refused(lambda: limiter.admit(sender))


async def test_one_senders_limit_is_not_anothers(limiter: SendRateLimiter) -> None:
    busy, quiet = UserId(new_user("busy")), UserId(new_user("quiet"))
    for _ in range(LIMIT):
        await limiter.admit(busy)
    await refused(lambda: limiter.admit(busy))
    for _ in range(LIMIT):
        await limiter.admit(quiet)
