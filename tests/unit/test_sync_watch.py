"""SyncService.watch over the fakes: versions must come strictly +1 apart whatever the live
feed does (lost, late, repeated or reordered publishes, gap markers, overflowing queues)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from services.change_log import LiveChange
from services.domain import Message, Typing, UnreadCountChanged, conversation_id
from services.errors import BadUserInput, InboxError, SyncTooOld
from services.sync import SyncService
from tests.fakes import FakeClock, FakeEventHub, FakeMessageCache, FakeMessageStore
from tests.polling import eventually
from tests.unit.support import ALICE, BOB, make_message
from tests.unit.sync_support import receive, receive_many, sync, sync_service

pytestmark = pytest.mark.asyncio
__all__ = ["sync"]  # the fixture, used by name


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
    service = sync_service(store, hub, cache, clock)
    await receive_many(store, 5)
    watcher = Watcher(service, since=chance.choice([None, 0, 2]))
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
