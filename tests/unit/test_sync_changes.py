"""SyncService.changes over the fakes: contiguous pages with counts and messages, bodies
loaded once per page, and the codes a client acts on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.change_log import InboxChange, LiveChange, MessageReceivedChange
from services.errors import BadUserInput, InboxError, SyncTooOld
from services.sync import SyncService
from tests.fakes import FakeClock, FakeMessageCache, FakeMessageStore
from tests.unit.support import BOB
from tests.unit.sync_support import receive, receive_many, sync

pytestmark = pytest.mark.asyncio
__all__ = ["sync"]  # the fixture, used by name


@pytest.mark.parametrize(("since", "first"), [(-1, 10), (0, 0), (0, 101), (0, -5)])
async def test_changes_refuses_bad_arguments(sync: SyncService, since: int, first: int) -> None:
    with pytest.raises(BadUserInput):
        await sync.changes(BOB, since=since, first=first)


async def test_changes_beyond_the_current_version_is_bad_input(
    sync: SyncService, store: FakeMessageStore
) -> None:
    await receive_many(store, 2)
    with pytest.raises(BadUserInput):
        await sync.changes(BOB, since=3, first=10)


async def test_changes_page_contiguously_with_counts_and_messages(
    sync: SyncService, store: FakeMessageStore
) -> None:
    received = await receive_many(store, 5)
    read = await store.mark_read(BOB, [received[0].change.payload.message_id], store.now())  # type: ignore[union-attr]
    events: list[LiveChange] = []
    since = 0
    while True:
        page = await sync.changes(BOB, since=since, first=2)
        events.extend(page.events)
        assert page.version == (page.events[-1].change.version if page.events else since)
        since = page.version
        if not page.has_more:
            break
    assert [event.change.version for event in events] == [1, 2, 3, 4, 5, 6]
    assert [event.change.count for event in events] == [1, 2, 3, 4, 5, 4]
    assert [event.message for event in events[:5]] == [live.message for live in received]
    assert events[5].message is None
    assert events[5] == LiveChange(read.changes[0])
    empty = await sync.changes(BOB, since=6, first=100)
    assert (empty.events, empty.version, empty.has_more) == ((), 6, False)


async def test_changes_loads_a_pages_bodies_in_one_lookup(
    sync: SyncService, store: FakeMessageStore, cache: FakeMessageCache
) -> None:
    await receive_many(store, 30)
    page = await sync.changes(BOB, since=0, first=100)
    assert len(page.events) == 30
    assert cache.calls["get_many"] == 1
    assert store.calls["get_messages"] == 1
    await sync.changes(BOB, since=0, first=100)
    assert cache.calls["get_many"] == 2
    assert store.calls["get_messages"] == 1  # the second page came from the cache


async def test_changes_after_retention_is_sync_too_old(
    sync: SyncService, store: FakeMessageStore, clock: FakeClock
) -> None:
    await receive_many(store, 2)
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(SyncTooOld):
        await sync.changes(BOB, since=0, first=10)
    # Up to date is never too old: nothing is missing.
    assert (await sync.changes(BOB, since=2, first=10)).events == ()


async def test_a_received_message_deleted_later_comes_without_its_body(
    sync: SyncService, store: FakeMessageStore, clock: FakeClock
) -> None:
    live = await receive(store, 1)
    assert live.message is not None
    _, at = store.logs[BOB][1]
    deleted = InboxChange(1, 1, MessageReceivedChange(live.message.id, deleted_at=clock()))
    store.logs[BOB][1] = (deleted, at)
    (event,) = (await sync.changes(BOB, since=0, first=10)).events
    assert event.message is not None
    assert event.message.body == ""
    assert event.message.id == live.message.id


async def test_a_logged_message_that_is_not_stored_is_an_internal_error(
    sync: SyncService, store: FakeMessageStore
) -> None:
    live = await receive(store, 1)
    assert live.message is not None
    del store.messages[live.message.id]
    with pytest.raises(InboxError) as raised:
        await sync.changes(BOB, since=0, first=10)
    assert raised.value.code == "INTERNAL_SERVER_ERROR"
