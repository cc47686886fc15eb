"""`bootstrap()` builds what a role needs and nothing else, and a part that is given is used as
it is, with no connection opened for it."""

from __future__ import annotations

import pytest

from services.app import NotInRole
from services.bootstrap import bootstrap
from services.delivery import DeliveryWorker
from services.settings import Settings
from tests.fakes import FakeDeliveryQueue, FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BOB, make_message

# Unreachable on purpose: a client that bootstrap opened by mistake would fail here.
NOWHERE = Settings(stack="external", redis_url="redis://127.0.0.1:1/0", aws_max_attempts=1)


async def test_the_worker_role_builds_no_api_parts() -> None:
    store, queue, hub = FakeMessageStore(), FakeDeliveryQueue(), FakeEventHub()
    async with bootstrap(NOWHERE, role="worker", store=store, hub=hub, consumer=queue) as app:
        assert app.consumer is queue and app.store is store and app.hub is hub
        for part in ("inbox", "sending", "tokens", "persisted_queries", "producer"):
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
