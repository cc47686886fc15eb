"""Fixtures for unit tests: the in-memory fakes, wired by the one composition root with a fake
clock. Nothing here opens a connection: every part `bootstrap()` would build is given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.app import App
from services.inbox import InboxService
from services.read_marks import ReadMarkService
from services.sending import SendService
from services.settings import Settings
from tests.fakes import (
    FakeClock,
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
    FakeSendRateLimiter,
    FakeTokenVerifier,
    in_memory_app,
)
from tests.unit.support import BASE
from tests.unit.test_deploy_template import load_template


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(BASE)


@pytest.fixture
def store() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def queue() -> FakeDeliveryQueue:
    return FakeDeliveryQueue()


@pytest.fixture
def cache() -> FakeMessageCache:
    return FakeMessageCache()


@pytest.fixture
def hub() -> FakeEventHub:
    return FakeEventHub()


@pytest.fixture
def tokens() -> FakeTokenVerifier:
    return FakeTokenVerifier()


@pytest.fixture
def send_limiter() -> FakeSendRateLimiter:
    return FakeSendRateLimiter()


@pytest.fixture
async def app(  # noqa: PLR0917 -- pytest passes fixtures by name
    store: FakeMessageStore,
    queue: FakeDeliveryQueue,
    cache: FakeMessageCache,
    hub: FakeEventHub,
    tokens: FakeTokenVerifier,
    send_limiter: FakeSendRateLimiter,
    clock: FakeClock,
) -> AsyncIterator[App]:
    async with in_memory_app(
        Settings(stack="external"),
        store=store,
        queue=queue,
        cache=cache,
        hub=hub,
        tokens=tokens,
        send_limiter=send_limiter,
        clock=clock,
    ) as built:
        yield built


@pytest.fixture
def service(app: App) -> InboxService:
    return app.inbox


@pytest.fixture
def read_marks(app: App) -> ReadMarkService:
    return app.read_marks


@pytest.fixture
def sending(app: App) -> SendService:
    return app.sending


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """deploy/inboxql.yaml, decoded (CloudFormation's tags included), once per module."""
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found
