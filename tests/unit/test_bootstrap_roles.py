"""`bootstrap()` builds what a role needs and nothing else, and a part that is given is used as
it is, with no connection opened for it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from services.app import NotInRole
from services.bootstrap import bootstrap
from services.delivery import DeliveryWorker
from services.disabled import NoSendLimit
from services.redis.rate_limit import RedisSendRateLimiter
from services.redis.typing_gate import RedisTypingGate
from services.settings import Settings
from tests.fakes import (
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
    FakePersistedQueryStore,
    FakeRateLimiter,
    FakeSendRateLimiter,
    FakeTokenVerifier,
)
from tests.unit.support import ALICE, BOB, make_message

# Unreachable on purpose: a client that bootstrap opened by mistake would fail here.
NOWHERE = Settings(stack="external", redis_url="redis://127.0.0.1:1/0", aws_max_attempts=1)


async def test_the_worker_role_builds_no_api_parts() -> None:
    store, queue, hub = FakeMessageStore(), FakeDeliveryQueue(), FakeEventHub()
    async with bootstrap(NOWHERE, role="worker", store=store, hub=hub, consumer=queue) as app:
        assert app.consumer is queue and app.store is store and app.hub is hub
        for part in ("inbox", "sending", "presence", "tokens", "persisted_queries", "producer"):
            with pytest.raises(NotInRole, match="worker role"):
                getattr(app, part)
        assert (app.clients.dynamodb, app.clients.sqs, app.clients.redis) == (None, None, None)
        # What it did build works: a queued message is delivered through the given parts.
        await queue.enqueue(make_message(BOB, ALICE, 1))
        assert await DeliveryWorker(app.consumer, app.store, app.hub).run_once() == 1
        assert (await store.unread_count(ALICE)).count == 1


async def test_the_lambda_role_has_no_consumer_and_no_token_verifier() -> None:
    async with bootstrap(
        NOWHERE, role="lambda", store=FakeMessageStore(), hub=FakeEventHub()
    ) as app:
        with pytest.raises(NotInRole):
            _ = app.consumer
        with pytest.raises(NotInRole):
            _ = app.tokens


async def test_a_lambda_runs_no_delivery_loops_and_roles_are_checked() -> None:
    with pytest.raises(ValueError, match="no delivery loops"):
        async with bootstrap(NOWHERE, role="lambda", workers=1):
            pass
    with pytest.raises(ValueError, match="unknown role"):
        async with bootstrap(NOWHERE, role="batch"):  # type: ignore[arg-type]
            pass


def api_parts_but_presence() -> dict[str, Any]:
    queue = FakeDeliveryQueue()
    return {
        "store": FakeMessageStore(),
        "hub": FakeEventHub(),
        "producer": queue,
        "consumer": queue,
        "cache": FakeMessageCache(),
        "tokens": FakeTokenVerifier(),
        "send_limiter": FakeSendRateLimiter(),
        "persisted_queries": FakePersistedQueryStore(),
        "read_limiter": FakeRateLimiter(),
        "registration_quota": FakeRateLimiter(),
    }


@pytest.mark.parametrize("limit", [0, 5])
async def test_the_api_role_builds_presence_on_redis_and_typing_stays_best_effort(
    limit: int,
) -> None:
    settings = dataclasses.replace(NOWHERE, typing_rate_limit=limit)
    async with bootstrap(settings, **api_parts_but_presence()) as app:
        presence = app.presence
        assert isinstance(presence.gate, RedisTypingGate)
        limiter = presence.limiter
        assert isinstance(limiter, RedisSendRateLimiter if limit else NoSendLimit)
        # Nothing answers at NOWHERE: the limit lets the call through, the gate cannot be
        # asked, and the call answers false instead of failing.
        assert await presence.set_typing(ALICE, BOB) is False
