"""The delivery worker and `deliver()`: at-least-once queue, exactly-once effect."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.change_log import InboxChange, LiveChange, MessageReceivedChange
from services.delivery import BATCH_SIZE, DeliveryWorker, deliver
from services.domain import UnreadCount, UnreadCountChanged
from services.errors import DependencyUnavailable
from tests.fakes import FakeDeliveryQueue, FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BOB, CAROL, make_message

GUARD_SECONDS = 5  # only a safety net against a hang; nothing waits on it
STOP_WINDOW_SECONDS = 0.2  # far longer than a worker needs to act on `stop`; far below a poll


@pytest.fixture
def worker(queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub) -> DeliveryWorker:
    return DeliveryWorker(queue, store, hub, wait_seconds=0, idle_backoff_seconds=0)


# --- deliver() ---------------------------------------------------------------------------


async def test_deliver_stores_counts_and_announces(
    store: FakeMessageStore, hub: FakeEventHub
) -> None:
    message = make_message(BOB, ALICE, 1)
    await deliver(message, store, hub)
    assert store.messages == {message.id: message}
    assert set(store.entries[ALICE]) == {message.id}
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)
    # One publish per change: the count and the message travel together.
    change = InboxChange(1, 1, MessageReceivedChange(message.id))
    assert hub.published == [(ALICE, LiveChange(change, message))]
    assert store.logs[ALICE][1][0] == change


async def test_deliver_twice_changes_nothing(store: FakeMessageStore, hub: FakeEventHub) -> None:
    message = make_message(BOB, ALICE, 1)
    await deliver(message, store, hub)
    await deliver(message, store, hub)
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)
    page = await store.list_inbox(ALICE, limit=10, before=None, unread_only=False)
    assert [e.id for e in page.entries] == [message.id]
    # The count snapshot is repeated (harmless), the change is logged and announced once.
    assert hub.events_for(ALICE) == [
        LiveChange(InboxChange(1, 1, MessageReceivedChange(message.id)), message),
        UnreadCountChanged(ALICE, 1, 1),
    ]
    assert list(store.logs[ALICE]) == [1]


async def test_deliver_survives_a_publisher_outage(
    store: FakeMessageStore, hub: FakeEventHub
) -> None:
    hub.unavailable = True
    message = make_message(BOB, ALICE, 1)
    await deliver(message, store, hub)
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)
    assert hub.published == []


async def test_deliver_propagates_a_store_failure(
    store: FakeMessageStore, hub: FakeEventHub
) -> None:
    store.fail_next.append(DependencyUnavailable("dynamodb down"))
    with pytest.raises(DependencyUnavailable):
        await deliver(make_message(BOB, ALICE, 1), store, hub)
    assert store.messages == {}
    assert await store.unread_count(ALICE) == UnreadCount(0, 0)
    assert hub.published == []


# --- run_once ----------------------------------------------------------------------------


async def test_run_once_delivers_and_acknowledges(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore
) -> None:
    sent = [make_message(BOB, ALICE, n) for n in range(3)]
    for message in sent:
        await queue.enqueue(message)
    assert await worker.run_once() == 3
    assert queue.pending == 0
    assert len(queue.acknowledged) == 3
    assert set(store.messages) == {m.id for m in sent}
    assert await store.unread_count(ALICE) == UnreadCount(3, 3)


async def test_run_once_on_an_empty_queue(worker: DeliveryWorker, queue: FakeDeliveryQueue) -> None:
    assert await worker.run_once() == 0
    assert queue.acknowledged == []
    assert queue.receive_calls == 1


async def test_run_once_takes_at_most_one_batch(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore
) -> None:
    for n in range(BATCH_SIZE + 3):
        await queue.enqueue(make_message(BOB, ALICE, n))
    assert await worker.run_once() == BATCH_SIZE
    assert queue.pending == 3
    assert len(store.messages) == BATCH_SIZE


async def test_failed_delivery_is_left_for_redelivery(
    worker: DeliveryWorker,
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, bad, also_good = (make_message(BOB, ALICE, n) for n in range(3))
    store.fail_deliveries_of[bad.id] = [DependencyUnavailable("throttled")]
    for message in (good, bad, also_good):
        await queue.enqueue(message)
    with caplog.at_level(logging.WARNING, logger="inboxql.delivery"):
        assert await worker.run_once() == 3
    assert set(store.messages) == {good.id, also_good.id}
    assert len(queue.acknowledged) == 2
    assert (queue.pending, queue.in_flight) == (1, 1)
    assert bad.id in caplog.text
    # The visibility timeout passes: it comes back, and this time it is delivered.
    assert queue.expire_in_flight() == 1
    assert queue.redeliveries == 0
    received = await queue.receive(max_messages=10, wait_seconds=0)
    assert [(d.message, d.receive_count) for d in received] == [(bad, 2)]
    assert queue.redeliveries == 1
    queue.expire_in_flight()
    assert await worker.run_once() == 1
    assert queue.pending == 0
    assert await store.unread_count(ALICE) == UnreadCount(3, 3)


async def test_undecodable_message_is_not_acknowledged(
    worker: DeliveryWorker,
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue.push_undecodable()
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    with caplog.at_level(logging.ERROR, logger="inboxql.delivery"):
        assert await worker.run_once() == 2
    assert set(store.messages) == {message.id}
    assert len(queue.acknowledged) == 1
    assert queue.in_flight == 1
    assert "undecodable" in caplog.text


async def test_undecodable_message_ends_in_the_dead_letters(store: FakeMessageStore) -> None:
    queue = FakeDeliveryQueue(max_receive_count=3)
    worker = DeliveryWorker(queue, store, FakeEventHub(), wait_seconds=0)
    queue.push_undecodable()
    for _ in range(3):
        assert await worker.run_once() == 1
        queue.expire_in_flight()
    assert await worker.run_once() == 0
    assert queue.dead_letters == [None]
    assert queue.acknowledged == []


async def test_duplicated_queue_messages_deliver_once(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    message = make_message(BOB, ALICE, 1)
    for _ in range(3):
        await queue.enqueue(message)
    assert await worker.run_once() == 3
    assert len(queue.acknowledged) == 3
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)
    assert list(store.entries[ALICE]) == [message.id]
    received = [e for e in hub.events_for(ALICE) if isinstance(e, LiveChange)]
    assert received == [LiveChange(InboxChange(1, 1, MessageReceivedChange(message.id)), message)]


async def test_redelivery_after_a_lost_store_response(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    # Stored, but the worker never hears back: not acknowledged.
    store.fail_after_commit.append(TimeoutError("read timeout"))
    assert await worker.run_once() == 1
    assert queue.acknowledged == []
    assert hub.published == []
    queue.expire_in_flight()
    assert await worker.run_once() == 1
    assert queue.pending == 0
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)
    # The redelivery still tells subscribers the count.
    assert hub.events_for(ALICE) == [UnreadCountChanged(ALICE, 1, 1)]


async def test_publisher_outage_does_not_fail_delivery(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    hub.unavailable = True
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    assert await worker.run_once() == 1
    assert queue.pending == 0
    assert store.messages == {message.id: message}


async def test_unexpected_publish_error_means_redelivery(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    hub.fail_next_publish.append(RuntimeError("bug in the publisher"))
    await queue.enqueue(make_message(BOB, ALICE, 1))
    assert await worker.run_once() == 1
    assert queue.in_flight == 1
    queue.expire_in_flight()
    assert await worker.run_once() == 1
    assert queue.pending == 0
    assert await store.unread_count(ALICE) == UnreadCount(1, 1)


# --- run(stop) ---------------------------------------------------------------------------


async def test_run_drains_what_is_queued_when_stopped(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=20)
    sent = [make_message(BOB, ALICE, n) for n in range(25)]
    for message in sent:
        await queue.enqueue(message)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(worker.run(stop), GUARD_SECONDS)
    assert queue.pending == 0
    assert set(store.messages) == {m.id for m in sent}
    assert await store.unread_count(ALICE) == UnreadCount(25, 25)


async def test_stop_waits_for_the_poll_in_flight_and_delivers_what_it_gets(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    # SQS can hand messages to a poll whose client has stopped listening; they would then
    # stay hidden for the visibility timeout. So the worker never drops a poll in flight.
    worker = DeliveryWorker(queue, store, hub, wait_seconds=20)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(queue.wait_until_polling(), GUARD_SECONDS)
        stop.set()
        # A worker that dropped its poll would be done at once; give it a window to be.
        finished, _ = await asyncio.wait({running}, timeout=STOP_WINDOW_SECONDS)
        assert not finished, "the poll in flight was dropped"
        late = make_message(BOB, ALICE, 1)
        await queue.enqueue(late)  # answers the outstanding poll
        await asyncio.wait_for(running, GUARD_SECONDS)
    finally:
        running.cancel()
    assert queue.pending == 0
    assert set(store.messages) == {late.id}
    calls = queue.receive_calls
    await queue.enqueue(make_message(BOB, ALICE, 2))
    assert queue.receive_calls == calls  # really stopped


async def test_an_idle_worker_stops_within_one_poll(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=1)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(queue.wait_until_polling(), GUARD_SECONDS)
        stop.set()
        await asyncio.wait_for(running, 1 + GUARD_SECONDS)
    finally:
        running.cancel()
    assert store.calls["deliver"] == 0


async def test_messages_arriving_as_the_worker_stops_are_not_lost(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=20)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(queue.wait_until_polling(), GUARD_SECONDS)
        late = [make_message(BOB, CAROL, n) for n in range(12)]
        for message in late:
            await queue.enqueue(message)
        stop.set()
        await asyncio.wait_for(running, GUARD_SECONDS)
    finally:
        running.cancel()
    # A stopping worker leaves nothing in flight: all of it was delivered before it returned.
    assert queue.pending == 0
    assert set(store.messages) == {m.id for m in late}
    assert await store.unread_count(CAROL) == UnreadCount(12, 12)


async def test_stop_lets_a_received_batch_finish(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=20)
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    store.deliver_gate = asyncio.Event()
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(store.delivering.wait(), GUARD_SECONDS)
        stop.set()  # shutdown begins while the message is being stored
        store.deliver_gate.set()
        await asyncio.wait_for(running, GUARD_SECONDS)
    finally:
        running.cancel()
    assert store.messages == {message.id: message}
    assert queue.pending == 0


async def test_run_keeps_delivering_until_stopped(
    queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=1)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        first = make_message(BOB, ALICE, 1)
        await queue.enqueue(first)
        await asyncio.wait_for(queue.wait_until_acknowledged(1), GUARD_SECONDS)
        second = make_message(BOB, ALICE, 2)
        await queue.enqueue(second)
        await asyncio.wait_for(queue.wait_until_acknowledged(2), GUARD_SECONDS)
        assert not running.done()
        stop.set()
        await asyncio.wait_for(running, GUARD_SECONDS)
    finally:
        running.cancel()
    assert set(store.messages) == {first.id, second.id}


async def test_run_survives_a_failing_receive(
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    hub: FakeEventHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = DeliveryWorker(queue, store, hub, wait_seconds=1, idle_backoff_seconds=0)
    queue.fail_next_receive.append(DependencyUnavailable("sqs down"))
    message = make_message(BOB, ALICE, 1)
    await queue.enqueue(message)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        with caplog.at_level(logging.ERROR, logger="inboxql.delivery"):
            await asyncio.wait_for(queue.wait_until_acknowledged(1), GUARD_SECONDS)
        stop.set()
        await asyncio.wait_for(running, GUARD_SECONDS)
    finally:
        running.cancel()
    assert queue.receive_calls >= 2
    assert "delivery batch failed" in caplog.text
    assert store.messages == {message.id: message}


async def test_drain_gives_up_quietly_on_a_queue_failure(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, caplog: pytest.LogCaptureFixture
) -> None:
    await queue.enqueue(make_message(BOB, ALICE, 1))
    queue.fail_next_receive.append(DependencyUnavailable("sqs down"))
    with caplog.at_level(logging.ERROR, logger="inboxql.delivery"):
        await worker.drain()
    assert queue.pending == 1
    assert "draining the delivery queue failed" in caplog.text


async def test_a_batch_delivers_each_recipients_messages_in_order(
    worker: DeliveryWorker, queue: FakeDeliveryQueue, store: FakeMessageStore
) -> None:
    # One recipient's messages are stored and published in the queue's order, so its live
    # events go out in version order.
    sent = [make_message(BOB, ALICE, n) for n in range(4)] + [make_message(BOB, CAROL, 9)]
    for message in sent:
        await queue.enqueue(message)
    assert await worker.run_once() == 5
    logged = [store.logs[ALICE][v][0].payload for v in sorted(store.logs[ALICE])]
    assert logged == [MessageReceivedChange(m.id) for m in sent[:4]]
    assert await store.unread_count(CAROL) == UnreadCount(1, 1)
