"""Fixtures for unit tests: the in-memory fakes wired into an InboxService with a fake clock."""

from __future__ import annotations

import pytest

from services.inbox import InboxService
from tests.fakes import (
    FakeClock,
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
)
from tests.unit.support import BASE


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
def service(
    store: FakeMessageStore,
    queue: FakeDeliveryQueue,
    cache: FakeMessageCache,
    hub: FakeEventHub,
    clock: FakeClock,
) -> InboxService:
    return InboxService(
        store=store, queue=queue, cache=cache, publisher=hub, events=hub, clock=clock
    )
