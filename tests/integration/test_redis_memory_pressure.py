"""Persisted documents cannot crowd out the rate limits' counters in Redis.

The bound: registrations are capped per user and for everyone together, and documents live one
day, so the store stays under about 2 x total quota x 20 kB. The defence in depth: every key
InboxQL writes has a TTL, so under an LRU policy (volatile-lru, ElastiCache's default, or
allkeys-lru) a full Redis evicts old documents to take a counter's write, where `noeviction`
would refuse it and the limits would fail open. LRU alone guarantees nothing: its clock ticks
once a second and it samples, so a counter idle while a fast flood is written can go too, and
that is why the quota's bound comes first."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.domain import UserId
from services.errors import RateLimited
from services.local.processes import free_ports
from services.redis.persisted_queries import (
    KEY_PREFIX,
    MAX_DOCUMENT_BYTES,
    RedisPersistedQueryStore,
    document_hash,
)
from services.redis.rate_limit import (
    READ_KEY_PREFIX,
    RedisRateLimiter,
    RedisRegistrationQuota,
    RedisSendRateLimiter,
)
from tests.integration.test_redis_servers import RedisServer

MAX_MEMORY = 4 * 1024 * 1024
LIMIT = 3


@pytest.fixture(params=["volatile-lru", "allkeys-lru"])
def small_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    args = ("--maxmemory", str(MAX_MEMORY), "--maxmemory-policy", request.param)
    server = RedisServer(free_ports(1)[0], tmp_path / "redis", extra_args=args)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(small_redis: RedisServer) -> AsyncIterator[Redis]:
    redis = Redis.from_url(small_redis.url, socket_timeout=5)
    try:
        yield redis
    finally:
        await redis.aclose()


def padded_document(n: int) -> str:
    # As the finding's attacker: the largest document accepted, padded with a comment.
    head = f"query Pad{n}_{uuid.uuid4().hex} {{ unreadCount }} #"
    return head + "x" * (MAX_DOCUMENT_BYTES - len(head) - 1)


async def age(client: Redis, pattern: str, seconds: int) -> None:
    """Makes every key matching `pattern` look unused for `seconds` to LRU eviction, keeping
    its value and TTL, as if the flood that wrote them had taken that long. (Redis' LRU clock
    ticks once a second: keys written in the same second are all equally old.)"""
    async for key in client.scan_iter(match=pattern, count=1000):
        ttl, dumped = await client.pttl(key), await client.dump(key)
        if dumped is not None and ttl > 0:
            await client.restore(key, ttl, dumped, replace=True, idletime=seconds)


async def test_a_redis_full_of_documents_still_counts(client: Redis) -> None:
    store = RedisPersistedQueryStore(client)
    documents = [padded_document(n) for n in range(3 * MAX_MEMORY // MAX_DOCUMENT_BYTES)]
    for query in documents:
        await store.put(document_hash(query), query)
    # Redis is full: documents went to make room (which ones is LRU's sampling to choose, so
    # not necessarily the very oldest), and the one written last is there.
    assert int((await client.info("stats"))["evicted_keys"]) > 0
    kept = [await store.get(document_hash(query)) for query in documents]
    assert kept.count(None) > 0
    assert kept[-1] == documents[-1]
    await age(client, KEY_PREFIX + "*", 3600)
    reads = RedisRateLimiter(
        client, key_prefix=READ_KEY_PREFIX, name="read", what="operations", limit=LIMIT,
        window_seconds=60,
    )  # fmt: skip
    sends = RedisSendRateLimiter(client, limit=LIMIT, window_seconds=60)
    user = UserId(f"u-{uuid.uuid4().hex}")
    # The counters' writes are accepted (a document makes room), not refused as under
    # `noeviction`, which would let every one through.
    for _ in range(LIMIT):
        await reads.admit(user)
        await sends.admit(user)
    with pytest.raises(RateLimited):
        await reads.admit(user)
    with pytest.raises(RateLimited):
        await sends.admit(user)


async def test_registrations_are_bounded_per_user_and_in_total(client: Redis) -> None:
    quota = RedisRegistrationQuota(client, per_user=2, total=3, window_seconds=60)
    alice, bob, carol = (UserId(f"{name}-{uuid.uuid4().hex}") for name in ("a", "b", "c"))
    await quota.admit(alice)
    await quota.admit(alice)
    with pytest.raises(RateLimited, match="at most 2 persisted query registrations per"):
        await quota.admit(alice)
    await quota.admit(bob)  # the third of everyone's
    with pytest.raises(RateLimited, match="for all users together"):
        await quota.admit(carol)
