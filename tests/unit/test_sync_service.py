"""SyncService over the fakes: `changes` pages, and `watch`, whose versions must come strictly
+1 apart whatever the live feed does (lost, late, repeated or reordered publishes, gap markers,
overflowing queues)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from services.change_log import (
    InboxChange,
    LiveChange,
    MessageReceivedChange,
)
from services.domain import Message, Typing, UnreadCountChanged, conversation_id
from services.errors import BadUserInput, InboxError, SyncTooOld
from services.inbox import InboxService
from services.sync import SyncService
from tests.fakes import FakeClock, FakeEventHub, FakeMessageCache, FakeMessageStore
from tests.polling import eventually
from tests.unit.support import ALICE, BOB, make_message

pytestmark = pytest.mark.asyncio


@pytest.fixture
def sync(
    store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache, clock: FakeClock
) -> SyncService:
    store.now = clock
    inbox = InboxService(store=store, cache=cache, publisher=hub, events=hub, clock=clock)
    return SyncService(store=store, events=hub, load_messages=inbox.load_messages, clock=clock)


async def receive(store: FakeMessageStore, n: int) -> LiveChange:
    """Bob receives message n: committed, not published (the test decides what the hub sees)."""
    message = make_message(ALICE, BOB, n)
    delivered = await store.deliver(message)
    assert delivered.change is not None
    return LiveChange(delivered.change, message)


async def receive_many(store: FakeMessageStore, count: int) -> list[LiveChange]:
    return [await receive(store, n) for n in range(count)]


@dataclass
class Watcher:
    """One `watch` running as a task, collecting what it yields and how it ended."""

    sync: SyncService
    since: int | None
    seen: list[LiveChange] = field(default_factory=list)
    error: InboxError | None = None
    task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        try:
            async for event in self.sync.watch(BOB, self.since):
                self.seen.append(event)
        except InboxError as error:
            self.error = error

    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def versions(self) -> list[int]:
        return [event.change.version for event in self.seen]

    async def until(self, versions: list[int]) -> None:
        await eventually(
            lambda: self.versions() == versions or self.error is not None,
            lambda: f"versions {versions}, seen {self.versions()}",
        )
        assert self.error is None, self.error
        assert self.versions() == versions


# The `watch` fixture: starts a Watcher from `since` once it has subscribed.
Watch = Callable[[int | None], Awaitable[Watcher]]


@pytest.fixture
async def watch(sync: SyncService, hub: FakeEventHub) -> AsyncIterator[Watch]:
    started: list[Watcher] = []

    async def start(since: int | None) -> Watcher:
        watcher = Watcher(sync, since)
        watcher.task = asyncio.create_task(watcher._run())
        started.append(watcher)
        await eventually(
            lambda: hub.subscriber_count(BOB) > 0 or watcher.done(),
            "the watch to subscribe",
        )
        return watcher

    yield start
    for watcher in started:
        assert watcher.task is not None
        watcher.task.cancel()
        await asyncio.gather(watcher.task, return_exceptions=True)


# --- changes ---------------------------------------------------------------------------


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


# --- watch -----------------------------------------------------------------------------


async def test_watch_without_since_starts_at_the_current_version(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    old = await receive_many(store, 3)
    await hub.publish(BOB, old[-1])  # before the watch: never seen
    watcher = await watch(None)
    await hub.publish(BOB, old[-1])  # at the starting version: dropped
    fresh = await receive(store, 10)
    await hub.publish(BOB, fresh)
    await watcher.until([4])
    assert watcher.seen == [fresh]  # the live payload, with its message: no read


async def test_watch_with_since_replays_then_goes_live(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    old = await receive_many(store, 150)  # more than one replay page
    watcher = await watch(120)
    await watcher.until(list(range(121, 151)))
    assert [event.message for event in watcher.seen] == [live.message for live in old[120:]]
    fresh = await receive(store, 200)
    await hub.publish(BOB, old[-1])  # a late copy of a replayed version
    await hub.publish(BOB, fresh)
    await watcher.until(list(range(121, 152)))


async def test_watch_from_zero_replays_more_than_a_page(
    store: FakeMessageStore, watch: Watch
) -> None:
    await receive_many(store, 230)
    watcher = await watch(0)
    await watcher.until(list(range(1, 231)))


async def test_watch_fills_a_lost_publish_from_the_log(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    first, lost, third = await receive_many(store, 3)
    await hub.publish(BOB, first)
    await hub.publish(BOB, third)  # 2 never published
    await watcher.until([1, 2, 3])
    assert watcher.seen[1] == lost


async def test_watch_reordered_and_repeated_publishes_come_once_in_order(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    one, two, three = await receive_many(store, 3)
    for live in (two, one, two, three, one, three):
        await hub.publish(BOB, live)
    await watcher.until([1, 2, 3])


async def test_watch_replays_after_a_gap_marker(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    await receive_many(store, 2)  # neither published
    hub.inject_gap(BOB)
    await watcher.until([1, 2])


async def test_watch_reads_the_log_when_a_legacy_count_is_ahead(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    (live,) = await receive_many(store, 1)
    # A redelivery publishes the legacy count alone: it says a version exists, not what it was.
    await hub.publish(BOB, UnreadCountChanged(BOB, 1, 1))
    await watcher.until([1])
    assert watcher.seen == [live]
    await hub.publish(BOB, UnreadCountChanged(BOB, 1, 1))  # not ahead: nothing to read
    read = await store.mark_read(BOB, [live.change.payload.message_id], store.now())  # type: ignore[union-attr]
    await hub.publish(BOB, LiveChange(read.changes[0]))
    await watcher.until([1, 2])
    assert store.calls["changes"] == 1


async def test_watch_ignores_other_users_and_other_kinds(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    to_alice = make_message(BOB, ALICE, 1)
    other = await store.deliver(to_alice)
    assert other.change is not None
    await hub.publish(ALICE, LiveChange(other.change, to_alice))
    await hub.publish(BOB, Typing(ALICE, conversation_id(ALICE, BOB)))
    (live,) = await receive_many(store, 1)
    await hub.publish(BOB, live)
    await watcher.until([1])
    assert store.calls["changes"] == 0


async def test_watch_since_too_old_ends_with_sync_too_old(
    store: FakeMessageStore, clock: FakeClock, watch: Watch
) -> None:
    await receive_many(store, 3)
    clock.advance(timedelta(days=8))
    watcher = await watch(1)
    await eventually(watcher.done, "the watch to end")
    assert isinstance(watcher.error, SyncTooOld)
    assert watcher.seen == []


async def test_watch_ends_with_sync_too_old_when_a_gap_cannot_be_filled(
    store: FakeMessageStore, hub: FakeEventHub, watch: Watch
) -> None:
    watcher = await watch(None)
    _, _, third = await receive_many(store, 3)
    del store.logs[BOB][2]  # a hole in the log: what an unlogged write leaves
    await hub.publish(BOB, third)
    await eventually(watcher.done, "the watch to end")
    assert isinstance(watcher.error, SyncTooOld)
    assert watcher.seen == []


@pytest.mark.parametrize("since", [-1, 5])
async def test_watch_refuses_a_bad_since(store: FakeMessageStore, watch: Watch, since: int) -> None:
    await receive_many(store, 2)
    watcher = await watch(since)
    await eventually(watcher.done, "the watch to end")
    assert isinstance(watcher.error, BadUserInput)


@pytest.mark.parametrize("seed", range(8))
async def test_watch_is_gap_free_under_a_hostile_feed(seed: int, clock: FakeClock) -> None:
    """Commits interleaved with a feed that drops, repeats, delays and reorders publishes and
    overflows a small queue: the watch still yields every version once, in order."""
    chance = random.Random(seed)
    store, cache, hub = FakeMessageStore(), FakeMessageCache(), FakeEventHub(queue_size=8)
    inbox = InboxService(store=store, cache=cache, publisher=hub, events=hub, clock=clock)
    sync = SyncService(store=store, events=hub, load_messages=inbox.load_messages, clock=clock)
    await receive_many(store, 5)
    watcher = Watcher(sync, since=chance.choice([None, 0, 2]))
    watcher.task = asyncio.create_task(watcher._run())
    await hub.wait_for_subscriber(BOB)
    start = 5 if watcher.since is None else watcher.since
    delayed: list[LiveChange] = []
    unread: list[Message] = []
    for n in range(100, 400):
        if unread and chance.random() < 0.2:
            message = unread.pop(chance.randrange(len(unread)))
            read = await store.mark_read(BOB, [message.id], clock())
            live = LiveChange(read.changes[0])
        else:
            live = await receive(store, n)
            assert live.message is not None
            unread.append(live.message)
        roll = chance.random()
        if roll < 0.15:
            continue  # lost
        if roll < 0.3:
            delayed.append(live)  # published late, after newer ones
        else:
            await hub.publish(BOB, live)
        if roll > 0.9:
            await hub.publish(BOB, live)  # repeated
        if delayed and chance.random() < 0.2:
            await hub.publish(BOB, delayed.pop(chance.randrange(len(delayed))))
        if chance.random() < 0.05:
            hub.inject_gap(BOB)
        if chance.random() < 0.3:
            await asyncio.sleep(0)  # let the watch run between commits, sometimes
    for live in delayed:
        await hub.publish(BOB, live)
    hub.inject_gap(BOB)  # whatever was lost at the very end is found after the next marker
    final = store.counters[BOB].version
    try:
        await watcher.until(list(range(start + 1, final + 1)))
        assert [e.change.count for e in watcher.seen] == [
            store.logs[BOB][v][0].count for v in range(start + 1, final + 1)
        ]
    finally:
        assert watcher.task is not None
        watcher.task.cancel()
        await asyncio.gather(watcher.task, return_exceptions=True)
