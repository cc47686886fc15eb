"""What every message store promises of a user's change log, held of `FakeMessageStore` and of
`DynamoMessageStore` on DynamoDB Local alike: every change to an inbox (a message received, a
markRead) takes exactly the next version and is logged with the count after it, in the same
step; `changes(since)` hands out since+1, since+2, ... with no gap, or refuses with
SYNC_TOO_OLD when one is no longer kept (expired, or never logged by an older process), and a
`since` beyond the current version is a client mistake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.change_log import (
    ChangeBatch,
    InboxChange,
    MessageReceivedChange,
    MessagesReadChange,
)
from services.domain import Message, MessageId, UnreadCount, UserId, new_message_id
from services.errors import BadUserInput, SyncTooOld
from services.ports import MessageStore
from tests.conftest import new_user
from tests.contract.message_stores import bump_version_unlogged

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


def message(sender: UserId, recipient: UserId, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"hello {n}", at)


def now() -> datetime:
    return datetime.now(UTC)


async def whole_log(store: MessageStore, user_id: UserId, since: int = 0) -> list[InboxChange]:
    found: list[InboxChange] = []
    while True:
        batch = await store.changes(user_id, since=since, limit=100, now=now())
        found.extend(batch.changes)
        since = batch.version
        if not batch.has_more:
            return found


def received(sent: Message) -> MessageReceivedChange:
    return MessageReceivedChange(sent.id)


def read(*ids: MessageId) -> MessagesReadChange:
    return MessagesReadChange(tuple(ids))


async def test_each_change_is_logged_with_the_count_after_it(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(3)]
    delivered = [await store.deliver(m) for m in sent]
    assert (await store.deliver(sent[0])).change is None  # a redelivery changes nothing
    marked = await store.mark_read(alice, [sent[0].id, sent[2].id], BASE)
    expected = [
        InboxChange(1, 1, received(sent[0])),
        InboxChange(2, 2, received(sent[1])),
        InboxChange(3, 3, received(sent[2])),
        InboxChange(4, 1, read(sent[0].id, sent[2].id)),
    ]
    assert [d.change for d in delivered] == expected[:3]
    assert marked.changes == (expected[3],)
    batch = await store.changes(alice, since=0, limit=100, now=now())
    assert batch == ChangeBatch(tuple(expected), 4, False)
    assert await store.unread_count(alice) == UnreadCount(1, 4)
    # Only the recipient's inbox changed.
    assert await store.changes(bob, since=0, limit=100, now=now()) == ChangeBatch((), 0, False)


async def test_pages_are_contiguous_and_say_whether_more_follow(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(5)]
    for m in sent:
        await store.deliver(m)
    first = await store.changes(alice, since=0, limit=2, now=now())
    assert ([c.version for c in first.changes], first.version, first.has_more) == ([1, 2], 2, True)
    second = await store.changes(alice, since=2, limit=3, now=now())
    assert ([c.version for c in second.changes], second.version) == ([3, 4, 5], 5)
    assert second.has_more is False
    assert await store.changes(alice, since=5, limit=3, now=now()) == ChangeBatch((), 5, False)


async def test_a_since_beyond_the_current_version_is_a_client_mistake(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    assert await store.changes(alice, since=0, limit=10, now=now()) == ChangeBatch((), 0, False)
    with pytest.raises(BadUserInput):
        await store.changes(alice, since=1, limit=10, now=now())
    await store.deliver(message(bob, alice, 1))
    with pytest.raises(BadUserInput):
        await store.changes(alice, since=2, limit=10, now=now())


async def test_changes_past_the_retention_are_too_old(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    await store.deliver(message(bob, alice, 1))
    await store.deliver(message(bob, alice, 2))
    within = await store.changes(alice, since=0, limit=10, now=now() + timedelta(days=6))
    assert [c.version for c in within.changes] == [1, 2]
    with pytest.raises(SyncTooOld):
        await store.changes(alice, since=0, limit=10, now=now() + timedelta(days=8))
    # An up-to-date client asks for nothing old, and is told so.
    later = await store.changes(alice, since=2, limit=10, now=now() + timedelta(days=8))
    assert later == ChangeBatch((), 2, False)


async def test_a_version_that_was_never_logged_is_too_old_to_sync_across(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(3)]
    await store.deliver(sent[0])
    await bump_version_unlogged(store, alice)  # version 2, by a process without the log
    # The next change is conditioned on the version it read, so it lands at 3, exact.
    assert (await store.deliver(sent[1])).change == InboxChange(3, 2, received(sent[1]))
    assert await store.unread_count(alice) == UnreadCount(2, 3)
    for since in (0, 1):
        with pytest.raises(SyncTooOld):
            await store.changes(alice, since=since, limit=10, now=now())
    assert [
        c.version for c in (await store.changes(alice, since=2, limit=10, now=now())).changes
    ] == [3]
    # With nothing logged after it, a hole is still a hole: also at the end of a page, which
    # must not pass for the whole story.
    await bump_version_unlogged(store, alice)
    for since in (2, 3):
        with pytest.raises(SyncTooOld):
            await store.changes(alice, since=since, limit=10, now=now())


async def test_concurrent_changes_to_one_user_take_one_version_each(store: MessageStore) -> None:
    alice = user("alice")
    early = [message(user("s"), alice, n) for n in range(10)]
    for m in early:
        await store.deliver(m)
    late = [message(user("s"), alice, 100 + n) for n in range(20)]
    # Twenty deliveries and five markReads at once, all contending for alice's counter.
    await asyncio.gather(
        *(store.deliver(m) for m in late),
        *(store.mark_read(alice, [m.id for m in early[k::5]], BASE) for k in range(5)),
    )
    log = await whole_log(store, alice)
    assert [c.version for c in log] == list(range(1, 36))
    unread: set[MessageId] = set()
    for change in log:
        if isinstance(change.payload, MessageReceivedChange):
            assert change.payload.message_id not in unread
            unread.add(change.payload.message_id)
        else:
            assert isinstance(change.payload, MessagesReadChange)
            assert set(change.payload.message_ids) <= unread
            unread -= set(change.payload.message_ids)
        assert change.count == len(unread), f"the count logged at {change.version} is off"
    assert unread == {m.id for m in late}
    assert await store.unread_count(alice) == UnreadCount(20, 35)
