"""The fakes keep the observable semantics of the real adapters (DynamoMessageStore above all):
if these drift, every other unit test proves less than it claims."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.change_log import MessagesReadChange
from services.domain import Message, MessageReceived, UnreadCount, UnreadCountChanged, UserId
from services.errors import DependencyUnavailable
from tests.fakes import (
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
    FakeStoreError,
)
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message


async def delivered(
    store: FakeMessageStore, count: int, recipient: UserId = ALICE
) -> list[Message]:
    sent = [make_message(BOB, recipient, n) for n in range(count)]
    for message in sent:
        assert (await store.deliver(message)).stored
    return sent


async def test_counter_and_version(store: FakeMessageStore) -> None:
    assert await store.unread_count(ALICE) == UnreadCount(0, 0)
    sent = await delivered(store, 3)
    assert await store.unread_count(ALICE) == UnreadCount(3, 3)
    assert not (await store.deliver(sent[0])).stored
    assert await store.unread_count(ALICE) == UnreadCount(3, 3)
    # One call flipping two: -2 unread, +1 version.
    await store.mark_read(ALICE, [sent[0].id, sent[1].id], BASE)
    assert await store.unread_count(ALICE) == UnreadCount(1, 4)
    # Flipping nothing leaves the counter alone.
    await store.mark_read(ALICE, [sent[0].id], BASE)
    await store.mark_read(ALICE, [], BASE)
    assert await store.unread_count(ALICE) == UnreadCount(1, 4)
    assert await store.unread_count(BOB) == UnreadCount(0, 0)


async def test_mark_read_in_transactions_of_100_items(store: FakeMessageStore) -> None:
    sent = await delivered(store, 120)
    marked = await store.mark_read(ALICE, [m.id for m in sent[:100]], BASE)
    # 97 entries from one sender, its conversation summary, the counter and the change fill
    # one DynamoDB transaction: 100 take two.
    assert await store.unread_count(ALICE) == UnreadCount(20, 122)
    flipped = [c.payload for c in marked.changes]
    assert [len(p.message_ids) for p in flipped if isinstance(p, MessagesReadChange)] == [97, 3]
    assert [c.version for c in marked.changes] == [121, 122]


async def test_mark_read_returns_own_entries_in_order_keeping_read_at(
    store: FakeMessageStore,
) -> None:
    sent = await delivered(store, 3)
    (carols,) = await delivered(store, 1, recipient=CAROL)
    first = await store.mark_read(ALICE, [sent[2].id], BASE)
    assert [(e.id, e.read_at) for e in first.entries] == [(sent[2].id, BASE)]
    later = BASE + timedelta(hours=1)
    result = await store.mark_read(ALICE, [sent[0].id, carols.id, sent[2].id], later)
    assert [(e.id, e.read_at) for e in result.entries] == [(sent[0].id, later), (sent[2].id, BASE)]
    assert not store.entries[CAROL][carols.id].is_read


async def test_stored_times_are_cut_to_milliseconds(store: FakeMessageStore) -> None:
    message = make_message(BOB, ALICE, 1)
    precise = Message(message.id, BOB, ALICE, "hi", message.sent_at + timedelta(microseconds=456))
    await store.deliver(precise)
    assert store.messages[message.id].sent_at == message.sent_at
    at = BASE + timedelta(microseconds=123_456)
    await store.mark_read(ALICE, [message.id], at)
    entry = (await store.get_entries(ALICE, [message.id]))[message.id]
    assert entry.read_at == BASE + timedelta(microseconds=123_000)


async def test_duplicate_keys_are_refused_like_batch_get(store: FakeMessageStore) -> None:
    (sent,) = await delivered(store, 1)
    with pytest.raises(FakeStoreError):
        await store.get_messages([sent.id, sent.id])
    with pytest.raises(FakeStoreError):
        await store.mark_read(ALICE, [sent.id, sent.id], BASE)
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)


async def test_list_inbox(store: FakeMessageStore) -> None:
    sent = await delivered(store, 5)
    newest_first = [m.id for m in reversed(sent)]
    page = await store.list_inbox(ALICE, limit=2, before=None, unread_only=False)
    assert ([e.id for e in page.entries], page.has_next_page) == (newest_first[:2], True)
    page = await store.list_inbox(ALICE, limit=3, before=newest_first[1], unread_only=False)
    assert ([e.id for e in page.entries], page.has_next_page) == (newest_first[2:], False)
    await store.mark_read(ALICE, [newest_first[2]], BASE)
    page = await store.list_inbox(ALICE, limit=10, before=newest_first[0], unread_only=True)
    assert [e.id for e in page.entries] == [newest_first[1], *newest_first[3:]]


async def test_list_conversation_both_directions(store: FakeMessageStore) -> None:
    a_to_b, b_to_a, c_to_a, a_to_a = (
        make_message(ALICE, BOB, 1),
        make_message(BOB, ALICE, 2),
        make_message(CAROL, ALICE, 3),
        make_message(ALICE, ALICE, 4),
    )
    for message in (a_to_b, b_to_a, c_to_a, a_to_a):
        await store.deliver(message)
    page = await store.list_conversation(ALICE, BOB, limit=10, before=None)
    assert [e.id for e in page.entries] == [b_to_a.id, a_to_b.id]
    page = await store.list_conversation(ALICE, ALICE, limit=10, before=None)
    assert [e.id for e in page.entries] == [a_to_a.id]


async def test_reservations_expire(store: FakeMessageStore) -> None:
    first = make_message(ALICE, BOB, 0)
    expires = first.sent_at + timedelta(hours=24)
    assert await store.reserve_client_message_id(first, "k", expires) == first
    second = make_message(ALICE, BOB, 1000)
    assert await store.reserve_client_message_id(second, "k", expires) == first
    other_sender = make_message(CAROL, BOB, 1000)
    assert await store.reserve_client_message_id(other_sender, "k", expires) == other_sender
    late = make_message(ALICE, BOB, 0, base=expires + timedelta(seconds=1))
    assert await store.reserve_client_message_id(late, "k", expires) == late
    assert await store.reserve_client_message_id(second, "k", expires) == late


async def test_failure_injection(store: FakeMessageStore) -> None:
    message = make_message(BOB, ALICE, 1)
    store.fail_next.append(DependencyUnavailable("x"))
    with pytest.raises(DependencyUnavailable):
        await store.deliver(message)
    assert store.messages == {}
    store.fail_after_commit.append(TimeoutError())
    with pytest.raises(TimeoutError):
        await store.deliver(message)
    assert not (await store.deliver(message)).stored
    store.failures["unread_count"] = [DependencyUnavailable("y")]
    with pytest.raises(DependencyUnavailable):
        await store.unread_count(ALICE)
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)


async def test_queue_receipts_and_visibility() -> None:
    queue = FakeDeliveryQueue()
    sent = [make_message(BOB, ALICE, n) for n in range(3)]
    for message in sent:
        await queue.enqueue(message)
    batch = await queue.receive(max_messages=2, wait_seconds=0)
    assert [d.message for d in batch] == sent[:2]
    assert [d.receive_count for d in batch] == [1, 1]
    assert len({d.receipt for d in batch}) == 2
    rest = await queue.receive(max_messages=10, wait_seconds=0)
    assert [d.message for d in rest] == sent[2:]
    assert await queue.receive(max_messages=10, wait_seconds=0) == []
    await queue.acknowledge([batch[0].receipt])
    assert (queue.pending, queue.in_flight) == (2, 2)
    assert queue.expire_in_flight() == 2
    again = await queue.receive(max_messages=10, wait_seconds=0)
    assert [(d.message, d.receive_count) for d in again] == [(sent[1], 2), (sent[2], 2)]
    assert queue.redeliveries == 2
    # A receipt from an earlier receive no longer deletes anything.
    await queue.acknowledge([batch[1].receipt])
    assert queue.pending == 2


async def test_queue_long_poll_wakes_on_enqueue() -> None:
    queue = FakeDeliveryQueue()
    polling = asyncio.ensure_future(queue.receive(max_messages=10, wait_seconds=20))
    await asyncio.wait_for(queue.wait_until_polling(), 5)
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    received = await asyncio.wait_for(polling, 5)
    assert [d.message for d in received] == [message]


async def test_cache_outage() -> None:
    cache = FakeMessageCache()
    message = make_message(BOB, ALICE, 1)
    await cache.put_many([message])
    assert await cache.get_many([message.id]) == {message.id: message}
    cache.unavailable = True
    with pytest.raises(DependencyUnavailable):
        await cache.get_many([message.id])
    with pytest.raises(DependencyUnavailable):
        await cache.put_many([message])


async def test_event_hub_fan_out_gap_and_outage() -> None:
    hub = FakeEventHub()
    message = make_message(BOB, ALICE, 1)
    async with hub.subscribe(ALICE) as first, hub.subscribe(ALICE) as second:
        async with hub.subscribe(BOB) as bobs:
            await hub.publish(ALICE, UnreadCountChanged(ALICE, 1, 1))
            await hub.publish(BOB, UnreadCountChanged(BOB, 5, 5))
            hub.inject_gap(ALICE)
            hub.unavailable = True
            with pytest.raises(DependencyUnavailable):
                await hub.publish(ALICE, MessageReceived(message))
            hub.unavailable = False
            await hub.publish(ALICE, MessageReceived(message))
            for stream in (first, second):
                assert [await anext(stream) for _ in range(3)] == [
                    UnreadCountChanged(ALICE, 1, 1),
                    None,
                    MessageReceived(message),
                ]
            assert await anext(bobs) == UnreadCountChanged(BOB, 5, 5)
        assert hub.subscriber_count(ALICE) == 2
        assert hub.subscriber_count(BOB) == 0
    assert hub.subscriber_count(ALICE) == 0
    assert len(hub.published) == 3
