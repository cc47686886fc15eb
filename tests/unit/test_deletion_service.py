"""deleteMessage through the services, on the fakes: the order of store, cache and publish; a
message deleted while queued is acknowledged and never told; reads never give a deleted body
back, from the cache or the store, and the log shows the arrival without it."""

from __future__ import annotations

import pytest

from services.app import App
from services.change_log import InboxChange, LiveChange, MessageDeletedChange
from services.delivery import DeliveryWorker
from services.domain import MessageId, UnreadCount
from services.errors import DependencyUnavailable
from tests.fakes import FakeDeliveryQueue, FakeEventHub, FakeMessageCache, FakeMessageStore
from tests.unit.support import ALICE, BOB, CAROL


async def sent_and_delivered(app: App, worker: DeliveryWorker, body: str = "hi") -> MessageId:
    sent = await app.sending.send_message(ALICE, BOB, body)
    assert await worker.run_once(wait_seconds=0) == 1
    return sent.id


@pytest.fixture
def worker(queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub) -> DeliveryWorker:
    return DeliveryWorker(queue, store, hub, wait_seconds=0, idle_backoff_seconds=0)


async def test_a_delivered_message_is_forgotten_then_told_to_its_recipient_only(
    app: App, worker: DeliveryWorker, cache: FakeMessageCache, hub: FakeEventHub
) -> None:
    message_id = await sent_and_delivered(app, worker)
    # Read once, so the body is cached.
    assert (await app.inbox.message(BOB, message_id)) is not None
    assert cache.data[message_id] is not None
    hub.published.clear()
    assert await app.deletion.delete_message(ALICE, message_id) is True
    assert cache.data[message_id] is None
    change = InboxChange(2, 0, MessageDeletedChange(message_id))
    assert hub.published == [(BOB, LiveChange(change))]
    assert await app.inbox.message(BOB, message_id) is None
    assert await app.inbox.message(ALICE, message_id) is None
    assert await app.inbox.unread_counter(BOB) == UnreadCount(0, 2)


async def test_a_deleted_body_is_not_served_from_the_cache_or_the_store(
    app: App, worker: DeliveryWorker, cache: FakeMessageCache
) -> None:
    message_id = await sent_and_delivered(app, worker, "secret")
    assert await app.deletion.delete_message(ALICE, message_id)
    assert await app.inbox.load_messages([message_id]) == {}
    # With the tombstone gone too (evicted, or Redis failed at the deletion): the store's
    # tombstone has no body, and it is not cached as if it were a message.
    del cache.data[message_id]
    assert await app.inbox.load_messages([message_id]) == {}
    assert message_id not in cache.data


async def test_the_log_keeps_the_arrival_without_its_body(app: App, worker: DeliveryWorker) -> None:
    message_id = await sent_and_delivered(app, worker, "secret")
    assert await app.deletion.delete_message(ALICE, message_id)
    page = await app.sync.changes(BOB, since=0, first=10)
    received, deleted = page.events
    assert received.message is not None and received.message.body == ""
    assert received.message.deleted_at is not None
    assert deleted.change.payload == MessageDeletedChange(message_id)


async def test_a_message_deleted_while_queued_is_acknowledged_and_never_told(
    app: App,
    worker: DeliveryWorker,
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    hub: FakeEventHub,
) -> None:
    sent = await app.sending.send_message(ALICE, BOB, "oops")
    assert await app.deletion.delete_message(ALICE, sent.id) is True
    # Nothing to tell anyone yet: the recipient's inbox did not change.
    assert hub.published == []
    assert await worker.run_once(wait_seconds=0) == 1
    assert queue.pending == 0 and queue.in_flight == 0
    assert hub.published == []
    assert store.entries.get(BOB, {}) == {}
    assert store.calls["touch_sender_summary"] == 0


async def test_anyone_else_and_a_malformed_id_get_false_and_change_nothing(
    app: App, worker: DeliveryWorker, store: FakeMessageStore, cache: FakeMessageCache
) -> None:
    message_id = await sent_and_delivered(app, worker)
    for caller, target in ((BOB, message_id), (CAROL, message_id), (ALICE, "not-an-id")):
        assert await app.deletion.delete_message(caller, target) is False
    assert message_id not in cache.data
    assert await app.inbox.unread_counter(BOB) == UnreadCount(1, 1)
    # A malformed id never reaches the store.
    assert store.calls["delete_message"] == 2


async def test_the_deletion_stands_when_the_cache_is_down(
    app: App, worker: DeliveryWorker, cache: FakeMessageCache, hub: FakeEventHub
) -> None:
    message_id = await sent_and_delivered(app, worker)
    cache.unavailable = True
    assert await app.deletion.delete_message(ALICE, message_id) is True
    assert hub.published[-1][0] == BOB
    cache.unavailable = False
    assert await app.inbox.message(BOB, message_id) is None


async def test_a_failed_deletion_tells_nothing(
    app: App, worker: DeliveryWorker, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    message_id = await sent_and_delivered(app, worker)
    hub.published.clear()
    store.failures["delete_message"] = [DependencyUnavailable("throttled")]
    with pytest.raises(DependencyUnavailable):
        await app.deletion.delete_message(ALICE, message_id)
    assert hub.published == []
    assert await app.deletion.delete_message(ALICE, message_id) is True
