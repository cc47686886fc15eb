"""A hub subscription's queue (services/redis/event_hub.py), without Redis: what the one pub/sub
reader leaves for a subscriber that reads slowly or not at all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from services.domain import Message, MessageReceived, UnreadCountChanged, UserId, new_message_id
from services.redis.clients import SingleNodeChannels
from services.redis.event_hub import RedisEventHub, Subscription
from tests.polling import eventually

ALICE = UserId("alice")


def subscription(queue_size: int = 8) -> Subscription:
    # Nothing connects: a client connects on its first command, and none is sent here.
    client = Redis(host="127.0.0.1", port=1)
    hub = RedisEventHub(SingleNodeChannels(client, client), queue_size=queue_size)
    return hub.subscribe(ALICE)


def count(version: int) -> UnreadCountChanged:
    return UnreadCountChanged(ALICE, version, version)


def received(body: str) -> MessageReceived:
    now = datetime.now(UTC)
    return MessageReceived(Message(new_message_id(now), UserId("bob"), ALICE, body, now))


async def reader_waits(stream: Subscription) -> None:
    """Until a read is parked on the empty queue, so what comes next must wake it."""
    await eventually(lambda: stream._waiter is not None, "the reader to wait for an item")


async def read_now(stream: Subscription) -> list[object]:
    """Everything already waiting, without waiting for more."""
    items: list[object] = []
    while stream.pending():
        items.append(await asyncio.wait_for(anext(stream), 5))
    return items


async def test_a_newer_count_replaces_the_one_still_waiting() -> None:
    stream = subscription()
    for version in range(1, 101):
        stream.offer(count(version))
    assert await read_now(stream) == [count(100)]


async def test_a_late_older_count_does_not_replace_a_newer_one() -> None:
    stream = subscription()
    stream.offer(count(7))
    stream.offer(count(5))
    stream.offer(count(7))
    assert await read_now(stream) == [count(7)]


async def test_counts_do_not_push_out_messages_and_keep_their_order_after_them() -> None:
    stream = subscription()
    first, second = received("one"), received("two")
    stream.offer(count(1))
    stream.offer(first)
    stream.offer(count(2))
    stream.offer(second)
    assert await read_now(stream) == [first, count(2), second]


async def test_an_overflow_leaves_one_gap_marker_in_place_of_the_backlog() -> None:
    stream = subscription(queue_size=4)
    messages = [received(str(n)) for n in range(10)]
    for message in messages:
        stream.offer(message)
    # Four fit; the fifth overflowed into a gap; the rest followed it until it was full again.
    items = await read_now(stream)
    assert None in items
    assert len(items) <= 4
    assert items[-1] is None or items[-1] == messages[-1]


async def test_gap_markers_in_a_row_are_one() -> None:
    stream = subscription()
    stream.offer(None)
    stream.offer(None)
    stream.offer(count(3))
    stream.offer(None)
    assert await read_now(stream) == [None, count(3), None]


async def test_a_waiting_reader_is_woken_by_the_next_item() -> None:
    stream = subscription()
    reader = asyncio.create_task(anext(stream))
    await reader_waits(stream)
    assert not reader.done()
    stream.offer(count(1))
    assert await asyncio.wait_for(reader, 5) == count(1)


async def test_a_cancelled_read_loses_nothing_offered_later() -> None:
    stream = subscription()
    reader = asyncio.create_task(anext(stream))
    await reader_waits(stream)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    stream.offer(count(2))
    assert await asyncio.wait_for(anext(stream), 5) == count(2)


def test_a_queue_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least one"):
        subscription(queue_size=0)
