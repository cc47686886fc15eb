"""What the typing gate promises, held of `FakeTypingGate` and of `RedisTypingGate` on the local
stack's Redis alike; and the typing limit's own count beside the send limit's, on Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.domain import UserId, conversation_id
from services.errors import DependencyUnavailable, RateLimited
from services.local.stack import StackEndpoints
from services.ports import TypingGate
from services.redis.rate_limit import TYPING_KEY_PREFIX, RedisSendRateLimiter
from services.redis.typing_gate import RedisTypingGate, typing_key
from tests.conftest import new_user
from tests.contract.test_redis_ports_contract import fake_or_redis, nowhere, redis_client
from tests.fakes import FakeTypingGate
from tests.polling import eventually

# Short, so that a case can see the hold end; the production hold is 3 s.
HOLD_SECONDS = 0.4


@pytest.fixture(params=["fake", "redis"])
async def gate(request: pytest.FixtureRequest) -> AsyncIterator[TypingGate]:
    fake: TypingGate = FakeTypingGate(hold_seconds=HOLD_SECONDS)

    def on_redis(client: Redis) -> TypingGate:
        return RedisTypingGate(client, hold_seconds=HOLD_SECONDS)

    async with fake_or_redis(request, fake, on_redis) as under_test:
        yield under_test


@pytest.fixture(params=["fake", "redis"])
async def broken_gate(request: pytest.FixtureRequest) -> AsyncIterator[TypingGate]:
    if request.param == "fake":
        fake = FakeTypingGate()
        fake.unavailable = True
        yield fake
        return
    async with redis_client(nowhere()) as client:
        yield RedisTypingGate(client)


def two_users() -> tuple[UserId, UserId]:
    return UserId(new_user("typist")), UserId(new_user("reader"))


async def test_the_gate_admits_once_per_hold(gate: TypingGate) -> None:
    typist, reader = two_users()
    conversation = conversation_id(typist, reader)
    admitted_at = time.monotonic()
    assert await gate.admit(typist, conversation) is True
    assert await gate.admit(typist, conversation) is False

    async def admitted_again() -> bool:
        return await gate.admit(typist, conversation)

    await eventually(admitted_again, "the hold to end", timeout=5)
    assert time.monotonic() - admitted_at >= HOLD_SECONDS * 0.9


async def test_the_gate_holds_each_sender_and_conversation_apart(gate: TypingGate) -> None:
    typist, reader = two_users()
    other = UserId(new_user("other"))
    assert await gate.admit(typist, conversation_id(typist, reader)) is True
    # The reader typing back, and the typist in another conversation, are not held.
    assert await gate.admit(reader, conversation_id(typist, reader)) is True
    assert await gate.admit(typist, conversation_id(typist, other)) is True
    assert await gate.admit(typist, conversation_id(typist, reader)) is False


async def test_an_unreachable_gate_says_so(broken_gate: TypingGate) -> None:
    typist, reader = two_users()
    with pytest.raises(DependencyUnavailable):
        await broken_gate.admit(typist, conversation_id(typist, reader))


async def test_the_gate_leaves_only_an_expiring_key(stack: StackEndpoints) -> None:
    typist, reader = two_users()
    conversation = conversation_id(typist, reader)
    async with redis_client(stack.redis_url) as client:
        await RedisTypingGate(client).admit(typist, conversation)
        left_ms = await client.pttl(typing_key(typist, conversation))
    assert 0 < left_ms <= 3000


async def test_the_typing_limit_counts_apart_from_the_send_limit(stack: StackEndpoints) -> None:
    typist = UserId(new_user("typist"))
    async with redis_client(stack.redis_url) as client:
        sends = RedisSendRateLimiter(client, limit=2, window_seconds=60)
        typing = RedisSendRateLimiter(
            client,
            limit=2,
            window_seconds=60,
            key_prefix=TYPING_KEY_PREFIX,
            name="typing",
            what="typing notices",
        )
        for _ in range(2):
            await typing.admit(typist)
        with pytest.raises(RateLimited, match="typing notices"):
            await typing.admit(typist)
        for _ in range(2):
            await sends.admit(typist)
        with pytest.raises(RateLimited, match="messages"):
            await sends.admit(typist)
