"""Retention over the fakes (docs/retention.md): when a read message expires, the walk after a
horizon (ReadExpiry, off the request path), and what the services show of an expired message:
`message(id)`, the inbox, a conversation, the conversation list and its cursors, `changes`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.app import App
from services.cursor import encode_conversation_cursor
from services.domain import new_message_id
from services.errors import SyncTooOld
from services.read_expiry import ReadExpiry
from services.retention import Retention, is_expired
from services.settings import Settings
from tests.fakes import FakeClock, FakeEventHub, FakeMessageCache, FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message, seed
from tests.unit.sync_support import sync_service

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


# --- the rule ------------------------------------------------------------------------------


def test_a_read_message_expires_the_retention_after_it_was_sent_but_not_before_its_read() -> None:
    week = Retention(7)
    sent = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    # Read early: a week after it was sent, rounded up to the second (TTL's unit).
    assert week.expires_at(sent, sent + SECOND) == int((sent + 7 * DAY).timestamp()) + 1
    # Read late: when it is read.
    late = sent + 30 * DAY
    assert week.expires_at(sent, late) == int(late.timestamp()) + 1
    assert not is_expired(week.expires_at(sent, sent), sent + 7 * DAY)
    assert is_expired(week.expires_at(sent, sent), sent + 7 * DAY + SECOND)
    assert not is_expired(None, sent + 1000 * DAY)


def test_only_a_message_older_than_the_retention_may_have_expired() -> None:
    week = Retention(7)
    message_id = new_message_id(BASE)
    assert not week.may_have_expired(message_id, BASE + 7 * DAY - SECOND)
    assert week.may_have_expired(message_id, BASE + 7 * DAY + SECOND)


def test_retention_is_off_or_at_least_a_day() -> None:
    assert Retention.of(None) is None
    assert Retention.of(3) == Retention(3)
    with pytest.raises(ValueError, match="one day"):
        Retention(0)


# --- the app under retention ------------------------------------------------------------------


@pytest.fixture
async def retained_app(
    store: FakeMessageStore,
    hub: FakeEventHub,
    cache: FakeMessageCache,
    clock: FakeClock,
) -> AsyncIterator[App]:
    store.now = clock
    store.retention = Retention(1)
    async with in_memory_app(
        Settings(stack="external", retention_days=1),
        store=store,
        hub=hub,
        cache=cache,
        clock=clock,
    ) as app:
        yield app


def expiry_of(app: App) -> ReadExpiry:
    expiry = app.read_marks.expiry
    assert expiry is not None
    return expiry


async def test_retention_off_builds_no_walk(app: App) -> None:
    assert app.read_marks.expiry is None
    assert app.sync.retention is None


async def test_retention_on_builds_the_walk_and_tells_sync(retained_app: App) -> None:
    assert isinstance(retained_app.read_marks.expiry, ReadExpiry)
    assert retained_app.sync.retention == Retention(1)


async def test_mark_all_read_gives_expiry_after_the_call(
    retained_app: App, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 3)
    clock.advance(timedelta(minutes=1))
    result = await retained_app.read_marks.mark_all_read(ALICE)
    assert result.unread_count == 0
    await expiry_of(retained_app).idle()
    assert store.calls["expire_read"] == 1
    clock.advance(2 * DAY)
    for message in sent:
        assert await retained_app.inbox.message(ALICE, message.id) is None
    page = await retained_app.inbox.inbox(ALICE, first=10, after=None, unread_only=False)
    assert page.entries == []


async def test_mark_conversation_read_walks_too_and_nothing_flipped_walks_nothing(
    retained_app: App, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    await seed(store, hub, BOB, ALICE, 2)
    await retained_app.read_marks.mark_conversation_read(ALICE, BOB)
    await expiry_of(retained_app).idle()
    assert store.calls["expire_read"] == 1
    # Nothing unread: no change, so no walk.
    await retained_app.read_marks.mark_conversation_read(ALICE, BOB)
    await retained_app.read_marks.mark_all_read(ALICE)
    await expiry_of(retained_app).idle()
    assert store.calls["expire_read"] == 1


async def test_message_lookup_and_conversation_leave_out_an_expired_message(
    retained_app: App, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    read, unread = await seed(store, hub, BOB, ALICE, 2)
    await retained_app.read_marks.mark_read(ALICE, [read.id])
    clock.advance(DAY + SECOND)
    # The recipient and the sender alike.
    assert await retained_app.inbox.message(ALICE, read.id) is None
    assert await retained_app.inbox.message(BOB, read.id) is None
    assert await retained_app.inbox.message(BOB, unread.id) is not None
    for owner, other in ((ALICE, BOB), (BOB, ALICE)):
        page = await retained_app.inbox.conversation(owner, other, first=10, after=None)
        assert [entry.id for entry in page.entries] == [unread.id]


async def test_the_conversation_list_keeps_its_place_when_it_shows_an_older_message(
    retained_app: App, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    kept = await seed(store, hub, BOB, ALICE, 1)
    newer = make_message(BOB, ALICE, 5)
    carols = make_message(CAROL, ALICE, 3)
    for message in (newer, carols):
        await store.deliver(message)
        await store.touch_sender_summary(message)
    await retained_app.read_marks.mark_read(ALICE, [newer.id])
    clock.advance(2 * DAY)

    first = await retained_app.conversations.conversations(ALICE, first=1, after=None)
    (bob,) = first.conversations
    # Bob's conversation shows the message still live, and stays where its newest one put it:
    # above Carol's, and its cursor is that place.
    assert (bob.last_message_id, bob.position, bob.updated_at) == (
        kept[0].id,
        newer.id,
        kept[0].sent_at,
    )
    assert first.has_next_page
    second = await retained_app.conversations.conversations(
        ALICE, first=5, after=encode_conversation_cursor(bob.position)
    )
    assert [c.with_user_id for c in second.conversations] == [CAROL]
    found = await retained_app.conversations.conversation(ALICE, bob.id)
    assert found == bob


async def test_changes_past_an_expired_message_answer_sync_too_old(
    store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache, clock: FakeClock
) -> None:
    store.retention = Retention(1)
    sync = sync_service(store, hub, cache, clock)
    sync.retention = Retention(1)
    read, unread = make_message(ALICE, BOB, 1), make_message(ALICE, BOB, 2)
    for message in (read, unread):
        await store.deliver(message)
    # Bodies cached, as a page would have left them: the cache must not answer for them.
    await cache.put_many([read, unread])
    await store.mark_read(BOB, [read.id], clock.now)
    page = await sync.changes(BOB, since=0, first=10)
    assert len(page.events) == 3

    clock.advance(DAY + SECOND)
    with pytest.raises(SyncTooOld, match="expired"):
        await sync.changes(BOB, since=0, first=10)
    # After the expired message's receipt, the log still answers.
    later = await sync.changes(BOB, since=1, first=10)
    assert [event.change.version for event in later.events] == [2, 3]
    assert later.events[0].message == unread
