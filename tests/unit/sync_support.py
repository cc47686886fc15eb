"""What the SyncService unit tests share: the service over the fakes, and Bob receiving
messages that are committed but not published (each test decides what the hub sees)."""

from __future__ import annotations

import pytest

from services.change_log import LiveChange
from services.inbox import InboxService
from services.sync import SyncService
from tests.fakes import FakeClock, FakeEventHub, FakeMessageCache, FakeMessageStore
from tests.unit.support import ALICE, BOB, make_message


def sync_service(
    store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache, clock: FakeClock
) -> SyncService:
    """As bootstrap builds it: bodies through the inbox's loader (the cache, then the store)."""
    store.now = clock
    inbox = InboxService(store=store, cache=cache, publisher=hub, events=hub)
    return SyncService(store=store, events=hub, load_messages=inbox.load_messages, clock=clock)


@pytest.fixture
def sync(
    store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache, clock: FakeClock
) -> SyncService:
    return sync_service(store, hub, cache, clock)


async def receive(store: FakeMessageStore, n: int) -> LiveChange:
    """Bob receives message n: committed, not published."""
    message = make_message(ALICE, BOB, n)
    delivered = await store.deliver(message)
    assert delivered.change is not None
    return LiveChange(delivered.change, message)


async def receive_many(store: FakeMessageStore, count: int) -> list[LiveChange]:
    return [await receive(store, n) for n in range(count)]
