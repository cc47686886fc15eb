"""`RedisPersistedQueryStore` against redis-server: shared, expiring, and never an error."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from redis.asyncio import Redis

from services.app import App
from services.redis.persisted_queries import (
    DEFAULT_TTL_SECONDS,
    KEY_PREFIX,
    RedisPersistedQueryStore,
    document_hash,
)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def a_document() -> str:
    return f"query Q_{uuid.uuid4().hex} {{ me {{ id }} }}"


async def test_round_trip_under_its_key_with_a_ttl(app: App) -> None:
    store = RedisPersistedQueryStore(app.clients.redis)
    query = a_document()
    sha = document_hash(query)
    assert await store.get(sha) is None
    await store.put(sha, query)
    assert await store.get(sha) == query
    assert await app.clients.redis.get(KEY_PREFIX + sha) == query.encode()
    assert 0 < await app.clients.redis.ttl(KEY_PREFIX + sha) <= DEFAULT_TTL_SECONDS
    assert DEFAULT_TTL_SECONDS == 24 * 3600


async def test_ttl_is_configurable(app: App) -> None:
    store = RedisPersistedQueryStore(app.clients.redis, ttl_seconds=60)
    query = a_document()
    await store.put(document_hash(query), query)
    assert 0 < await app.clients.redis.ttl(KEY_PREFIX + document_hash(query)) <= 60


async def test_bootstrapped_store_is_shared_through_redis(app: App) -> None:
    """What one process registers, another (its own client, same Redis) finds."""
    query = "{ unreadCount } # " + "ünïcødé " + uuid.uuid4().hex
    await app.persisted_queries.put(document_hash(query), query)
    other_client = Redis.from_url(app.settings.redis_url)
    try:
        assert await RedisPersistedQueryStore(other_client).get(document_hash(query)) == query
    finally:
        await other_client.aclose()


async def test_a_value_that_is_not_its_document_is_not_found(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisPersistedQueryStore(app.clients.redis)
    query, other = a_document(), a_document()
    await app.clients.redis.set(KEY_PREFIX + document_hash(query), other)
    broken = document_hash(a_document())
    await app.clients.redis.set(KEY_PREFIX + broken, b"\xff\xfe")
    with caplog.at_level(logging.WARNING, logger="inboxql.persisted_queries"):
        assert await store.get(document_hash(query)) is None
        assert await store.get(broken) is None
    assert len(caplog.records) == 2


async def test_redis_failures_read_as_not_found_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on this port: every command fails to connect.
    unreachable = Redis.from_url(f"redis://127.0.0.1:{unused_port()}/0", socket_connect_timeout=1)
    store = RedisPersistedQueryStore(unreachable)
    query = a_document()
    try:
        with caplog.at_level(logging.WARNING, logger="inboxql.persisted_queries"):
            await store.put(document_hash(query), query)
            assert await store.get(document_hash(query)) is None
    finally:
        await unreachable.aclose()
    messages = [record.getMessage() for record in caplog.records]
    assert any("not stored" in message for message in messages), messages
    assert any("treated as not found" in message for message in messages), messages
