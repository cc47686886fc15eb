"""What every event hub promises its subscribers, held of `FakeEventHub` and of `RedisEventHub`
on a real Redis alike (the `hub` fixture runs each case on both): delivery to every subscriber
of the user and no one else, order per user, bounded queues in which the newest count wins and
an overflow becomes one gap marker, and nothing more once a subscriber has left.

No case waits for silence: a case that needs "everything has arrived" either reads up to a last
event it published for that, or has a second subscriber of the same user read each event, since
both hubs hand one event to all of a channel's queues at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from services.change_log import InboxChange, LiveChange, MessageReceivedChange, MessagesReadChange
from services.domain import (
    InboxEvent,
    Message,
    MessageReceived,
    ReadReceipt,
    Typing,
    UnreadCountChanged,
    UserId,
    conversation_id,
    new_message_id,
)
from services.ports import EventStreamItem, LiveEvent
from services.redis.subscriber_queue import SubscriberQueue
from tests.conftest import new_user
from tests.contract.conftest import QUEUE_SIZE, HubUnderTest
from tests.e2e.fleet import eventually

STEP_TIMEOUT = 5.0


def a_user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


def count(user: UserId, version: int) -> UnreadCountChanged:
    return UnreadCountChanged(user, version, version)


def received(user: UserId, body: str) -> MessageReceived:
    # Whole seconds: the wire keeps milliseconds, and the Redis hub's events are decoded copies.
    now = datetime.now(UTC).replace(microsecond=0)
    return MessageReceived(Message(new_message_id(now), UserId("bob"), user, body, now))


async def next_item(stream: AsyncIterator[EventStreamItem]) -> EventStreamItem:
    return await asyncio.wait_for(anext(stream), STEP_TIMEOUT)


async def read_through(stream: SubscriberQueue, last: EventStreamItem) -> list[EventStreamItem]:
    """Everything up to and including `last`, an event published after the ones under test."""
    items: list[EventStreamItem] = []
    while not items or items[-1] != last:
        items.append(await next_item(stream))
    return items


async def test_a_subscriber_receives_what_is_published_after_it_subscribed(
    hub: HubUnderTest,
) -> None:
    alice = a_user("alice")
    await hub.publish(alice, received(alice, "before"))
    async with hub.subscribe(alice) as stream:
        events: list[InboxEvent] = [count(alice, 1), received(alice, "after")]
        for event in events:
            await hub.publish(alice, event)
        assert [await next_item(stream), await next_item(stream)] == events
        assert stream.pending() == []


async def test_every_subscriber_of_the_user_receives_each_event(hub: HubUnderTest) -> None:
    alice = a_user("alice")
    async with hub.subscribe(alice) as first, hub.subscribe(alice) as second:
        event = received(alice, "to both")
        await hub.publish(alice, event)
        assert await next_item(first) == event
        assert await next_item(second) == event


async def test_another_users_subscriber_receives_nothing(hub: HubUnderTest) -> None:
    alice, carol = a_user("alice"), a_user("carol")
    async with hub.subscribe(alice) as alices, hub.subscribe(carol) as carols:
        for event in (count(alice, 1), received(alice, "for alice")):
            await hub.publish(alice, event)
            assert await next_item(alices) == event
        # Alice has hers, so anything of hers meant for Carol would be waiting by now.
        assert carols.pending() == []
        await hub.publish(carol, count(carol, 1))
        assert await next_item(carols) == count(carol, 1)


async def test_events_of_a_user_arrive_in_the_order_published(hub: HubUnderTest) -> None:
    alice, carol = a_user("alice"), a_user("carol")
    per_user = QUEUE_SIZE - 2  # a burst that fits, so no overflow reorders anything
    async with hub.subscribe(alice) as alices, hub.subscribe(carol) as carols:
        sent: dict[UserId, list[EventStreamItem]] = {alice: [], carol: []}
        for n in range(per_user):
            for user in (alice, carol):
                event = received(user, f"{n}")
                sent[user].append(event)
                await hub.publish(user, event)
        # Neither read while the burst went out, so both queues held all of it.
        assert await read_through(alices, sent[alice][-1]) == sent[alice]
        assert await read_through(carols, sent[carol][-1]) == sent[carol]


async def test_a_slow_subscriber_holds_only_the_newest_count(hub: HubUnderTest) -> None:
    alice = a_user("alice")
    async with hub.subscribe(alice) as slow, hub.subscribe(alice) as fast:
        newest = QUEUE_SIZE * 4  # past the queue's size: kept apart, they would overflow it
        for version in range(1, newest + 1):
            await hub.publish(alice, count(alice, version))
            assert await next_item(fast) == count(alice, version)
        assert slow.pending() == [count(alice, newest)]
        assert await next_item(slow) == count(alice, newest)


async def test_a_late_older_count_never_replaces_a_newer_one_waiting(hub: HubUnderTest) -> None:
    alice = a_user("alice")
    async with hub.subscribe(alice) as slow:
        for version in (7, 5, 6, 7):
            await hub.publish(alice, count(alice, version))
        last = received(alice, "last")
        await hub.publish(alice, last)
        assert await read_through(slow, last) == [count(alice, 7), last]


async def test_a_newer_count_takes_its_place_after_the_messages_before_it(
    hub: HubUnderTest,
) -> None:
    alice = a_user("alice")
    messages = [received(alice, f"{n}") for n in range(4)]
    async with hub.subscribe(alice) as slow:
        for version, message in enumerate(messages[:3], start=1):
            await hub.publish(alice, message)
            await hub.publish(alice, count(alice, version))
        await hub.publish(alice, messages[3])
        # Messages are never displaced by counts; the one count left is where the newest came.
        expected = [*messages[:3], count(alice, 3), messages[3]]
        assert await read_through(slow, messages[3]) == expected


async def test_an_overflow_leaves_one_gap_marker_in_place_of_the_backlog(
    hub: HubUnderTest,
) -> None:
    alice = a_user("alice")
    messages = [received(alice, f"{n}") for n in range(2 * QUEUE_SIZE + 4)]
    async with hub.subscribe(alice) as slow, hub.subscribe(alice) as fast:
        for message in messages:
            await hub.publish(alice, message)
            assert await next_item(fast) == message
        # Message 9 found the queue full (8 waiting): the 8 became one gap marker, and 9 followed
        # it. Message 17 found it full again (the marker and 9 to 15), and so on.
        after_last_overflow = messages[2 * QUEUE_SIZE + 1 :]
        assert slow.pending() == [None, *after_last_overflow]
        assert await read_through(slow, messages[-1]) == [None, *after_last_overflow]


def logged(user: UserId, version: int, body: str = "hi") -> LiveChange:
    message = received(user, body).message
    return LiveChange(InboxChange(version, version, MessageReceivedChange(message.id)), message)


async def test_every_kind_travels_whole(hub: HubUnderTest) -> None:
    alice = a_user("alice")
    now = datetime.now(UTC).replace(microsecond=0)
    ids = (new_message_id(now),)
    conversation = conversation_id(alice, UserId("bob"))
    events: list[LiveEvent] = [
        logged(alice, 1),
        LiveChange(InboxChange(2, 0, MessagesReadChange(ids))),
        ReadReceipt(UserId("bob"), conversation, ids, ids[0], now),
        Typing(UserId("bob"), conversation),
    ]
    async with hub.subscribe(alice) as stream:
        for event in events:
            await hub.publish(alice, event)
        assert await read_through(stream, events[-1]) == events


async def test_a_counts_only_subscriber_holds_the_newest_count_of_any_kind(
    hub: HubUnderTest,
) -> None:
    alice = a_user("alice")
    conversation = conversation_id(alice, UserId("bob"))
    async with hub.subscribe(alice, counts_only=True) as slow, hub.subscribe(alice) as fast:
        # Every change carries the count after it; typing is no count and never waits here.
        published: list[LiveEvent] = [
            logged(alice, 1),
            count(alice, 2),
            Typing(UserId("bob"), conversation),
            logged(alice, 3),
        ]
        for event in published:
            await hub.publish(alice, event)
            assert await next_item(fast) == event
        assert slow.pending() == [published[3]]


async def test_leaving_stops_delivery_and_frees_the_subscription(hub: HubUnderTest) -> None:
    alice = a_user("alice")
    async with hub.subscribe(alice) as staying:
        async with hub.subscribe(alice) as leaving:
            await hub.publish(alice, count(alice, 1))
            assert await next_item(leaving) == count(alice, 1)
            assert await next_item(staying) == count(alice, 1)
        after = received(alice, "after one left")
        await hub.publish(alice, after)
        assert await next_item(staying) == after
        assert leaving.pending() == []
        assert await hub.holds_subscription(alice)

    async def released() -> bool:
        return not await hub.holds_subscription(alice)

    await eventually(released, f"the hub to let go of {alice}'s subscription")
    async with hub.subscribe(alice) as again:
        await hub.publish(alice, count(alice, 2))
        assert await next_item(again) == count(alice, 2)
