"""InboxService's rules, against the in-memory fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import cast

import pytest
from ulid import ULID

from services.cursor import encode_cursor
from services.delivery import DeliveryWorker, deliver
from services.domain import (
    Message,
    MessageId,
    MessageReceived,
    UnreadCount,
    UnreadCountChanged,
    UserId,
    new_message_id,
)
from services.errors import BadUserInput, DependencyUnavailable
from services.inbox import InboxService
from services.read_marks import ReadMarkService
from services.sending import SendService
from tests.fakes import (
    FakeClock,
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
)
from tests.unit.support import ALICE, BASE, BOB, CAROL, ids_of, make_message, seed


async def flush(queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub) -> None:
    """Deliver everything on the queue, as the worker would."""
    await DeliveryWorker(queue, store, hub, wait_seconds=0).drain()
    assert queue.pending == 0


# --- sendMessage: validation -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["", " ", "  \n\t  ", "\u3000", "x" * 5001, "  " + "x" * 5001 + "  ", "\ud800", "a \udc00 b"],
    ids=[
        "empty",
        "space",
        "whitespace",
        "ideographic-space",
        "5001",
        "5001-padded",
        # UTF-8 cannot encode them: storing or answering the body would fail.
        "lone-high-surrogate",
        "lone-low-surrogate",
    ],
)
async def test_send_rejects_bad_body(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore, body: str
) -> None:
    with pytest.raises(BadUserInput, match="body"):
        await sending.send_message(ALICE, BOB, body, "key-1")
    assert queue.enqueued == []
    assert store.calls["reserve_client_message_id"] == 0
    assert store.reservations == {}


@pytest.mark.parametrize(
    "recipient",
    ["", "a#b", "a|b", "a" * 129, "-leading-dash", "has space", "\u00e9mile", "bob\n"],
)
async def test_send_rejects_malformed_recipient(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore, recipient: str
) -> None:
    with pytest.raises(BadUserInput, match="recipientId"):
        await sending.send_message(ALICE, recipient, "hi", "key-1")
    assert queue.enqueued == []
    assert store.calls["reserve_client_message_id"] == 0


@pytest.mark.parametrize(
    "key",
    ["", "k" * 129, "line\nbreak", "nul\x00", "tab\t", "esc\x1b[0m", "\u200b", "k\ud800"],
    ids=["empty", "129", "newline", "nul", "tab", "escape", "zero-width-space", "surrogate"],
)
async def test_send_rejects_bad_client_message_id(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore, key: str
) -> None:
    with pytest.raises(BadUserInput, match="clientMessageId"):
        await sending.send_message(ALICE, BOB, "hi", key)
    assert queue.enqueued == []
    assert store.calls["reserve_client_message_id"] == 0


async def test_send_accepts_limits(sending: SendService, queue: FakeDeliveryQueue) -> None:
    longest = await sending.send_message(ALICE, "b" * 128, "x" * 5000, "k" * 128)
    assert longest.body == "x" * 5000
    assert longest.recipient_id == "b" * 128
    padded = await sending.send_message(ALICE, "user.name+tag@x:y-z", "  " + "y" * 5000 + "\n")
    assert padded.body == "y" * 5000
    assert queue.enqueued == [longest, padded]


async def test_send_stores_the_trimmed_body(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await sending.send_message(ALICE, BOB, "  \n hello there \t ")
    assert sent.body == "hello there"
    await flush(queue, store, hub)
    assert store.messages[sent.id].body == "hello there"


async def test_send_enqueues_the_message_once(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore
) -> None:
    sent = await sending.send_message(ALICE, BOB, "hi")
    assert queue.enqueued == [sent]
    assert (sent.sender_id, sent.recipient_id, sent.body) == (ALICE, BOB, "hi")
    # The message alone is stored before it is queued (what a deletion while queued marks);
    # its inbox entry waits for the worker.
    assert store.messages == {sent.id: sent}
    assert store.entries == {}
    assert store.calls["reserve_client_message_id"] == 0


async def test_send_cuts_sent_at_to_milliseconds(sending: SendService, clock: FakeClock) -> None:
    clock.now = BASE.replace(microsecond=123_456)
    sent = await sending.send_message(ALICE, BOB, "hi")
    assert sent.sent_at == BASE.replace(microsecond=123_000)
    assert sent.sent_at.tzinfo is not None
    # The id encodes the same instant, so id order is sentAt order.
    assert ULID.from_str(sent.id).datetime == sent.sent_at


async def test_send_ids_follow_time(sending: SendService, clock: FakeClock) -> None:
    first = await sending.send_message(ALICE, BOB, "one")
    clock.advance(timedelta(milliseconds=1))
    second = await sending.send_message(ALICE, BOB, "two")
    assert first.id < second.id


async def test_a_send_is_queued_when_its_record_cannot_be_stored(
    sending: SendService, queue: FakeDeliveryQueue, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    """DynamoDB out: the queue keeps the send, as before messages were stored first, and the
    delivery stores the message itself."""
    store.failures["accept"] = [DependencyUnavailable("dynamodb stalled")]
    sent = await sending.send_message(ALICE, BOB, "hi")
    assert queue.enqueued == [sent]
    assert store.messages == {}
    await flush(queue, store, hub)
    assert store.messages == {sent.id: sent}
    assert (await store.unread_count(BOB)).count == 1


async def test_send_enqueue_failure_propagates(
    sending: SendService, queue: FakeDeliveryQueue
) -> None:
    queue.fail_next_enqueue.append(DependencyUnavailable("sqs down"))
    with pytest.raises(DependencyUnavailable):
        await sending.send_message(ALICE, BOB, "hi")
    assert queue.enqueued == []


# --- sendMessage: idempotency ------------------------------------------------------------


async def test_same_key_returns_same_message_and_delivers_once(
    *,
    sending: SendService,
    service: InboxService,
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    hub: FakeEventHub,
    clock: FakeClock,
) -> None:
    first = await sending.send_message(ALICE, BOB, "hi", "key-1")
    clock.advance(timedelta(seconds=5))
    again = await sending.send_message(ALICE, BOB, "  hi  ", "key-1")
    assert again == first
    # Enqueued again on purpose (see send_message); delivery stays single.
    assert queue.enqueued == [first, first]
    await flush(queue, store, hub)
    page = await service.inbox(BOB, first=10, after=None, unread_only=False)
    assert ids_of(page.entries) == [first.id]
    assert await service.unread_count(BOB) == 1
    assert (await store.unread_count(BOB)).version == 1


async def test_retry_after_enqueue_failure_delivers_the_reserved_message(
    sending: SendService,
    queue: FakeDeliveryQueue,
    store: FakeMessageStore,
    hub: FakeEventHub,
    clock: FakeClock,
) -> None:
    queue.fail_next_enqueue.append(DependencyUnavailable("sqs down"))
    with pytest.raises(DependencyUnavailable):
        await sending.send_message(ALICE, BOB, "hi", "key-1")
    reserved = store.reservations[(ALICE, "key-1")].message
    clock.advance(timedelta(seconds=1))
    retried = await sending.send_message(ALICE, BOB, "hi", "key-1")
    assert retried.id == reserved.id
    assert queue.enqueued == [retried]
    await flush(queue, store, hub)
    assert set(store.messages) == {reserved.id}


@pytest.mark.parametrize(
    ("recipient", "body"), [(BOB, "something else"), (CAROL, "hi")], ids=["body", "recipient"]
)
async def test_same_key_for_a_different_message_is_refused(
    sending: SendService, queue: FakeDeliveryQueue, recipient: str, body: str
) -> None:
    first = await sending.send_message(ALICE, BOB, "hi", "key-1")
    with pytest.raises(BadUserInput, match="clientMessageId"):
        await sending.send_message(ALICE, recipient, body, "key-1")
    assert queue.enqueued == [first]


async def test_keys_are_per_sender(sending: SendService, queue: FakeDeliveryQueue) -> None:
    from_alice = await sending.send_message(ALICE, CAROL, "hi", "key-1")
    from_bob = await sending.send_message(BOB, CAROL, "hi", "key-1")
    assert from_alice.id != from_bob.id
    assert from_bob.sender_id == BOB
    assert queue.enqueued == [from_alice, from_bob]


async def test_different_keys_make_different_messages(sending: SendService) -> None:
    one = await sending.send_message(ALICE, BOB, "hi", "key-1")
    two = await sending.send_message(ALICE, BOB, "hi", "key-2")
    assert one.id != two.id


async def test_no_key_means_no_idempotency(sending: SendService, store: FakeMessageStore) -> None:
    one = await sending.send_message(ALICE, BOB, "hi")
    two = await sending.send_message(ALICE, BOB, "hi")
    assert one.id != two.id
    assert store.calls["reserve_client_message_id"] == 0


async def test_key_is_held_for_24_hours(sending: SendService, clock: FakeClock) -> None:
    first = await sending.send_message(ALICE, BOB, "hi", "key-1")
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert (await sending.send_message(ALICE, BOB, "hi", "key-1")).id == first.id
    with pytest.raises(BadUserInput):
        await sending.send_message(ALICE, BOB, "other", "key-1")


async def test_key_expires_after_24_hours(
    sending: SendService, queue: FakeDeliveryQueue, clock: FakeClock
) -> None:
    first = await sending.send_message(ALICE, BOB, "hi", "key-1")
    clock.advance(timedelta(hours=24, seconds=1))
    fresh = await sending.send_message(ALICE, BOB, "hi", "key-1")
    assert fresh.id != first.id
    assert fresh.sent_at == clock.now
    # Reused for a different message once expired: no conflict any more.
    clock.advance(timedelta(hours=24, seconds=1))
    other = await sending.send_message(ALICE, BOB, "other", "key-1")
    assert other.body == "other"
    assert len({m.id for m in queue.enqueued}) == 3


# --- inbox and conversation paging -------------------------------------------------------


@pytest.mark.parametrize("first", [0, -1, 101, 10_000])
async def test_page_size_out_of_range(service: InboxService, first: int) -> None:
    with pytest.raises(BadUserInput, match="first"):
        await service.inbox(ALICE, first=first, after=None, unread_only=False)
    with pytest.raises(BadUserInput, match="first"):
        await service.conversation(ALICE, BOB, first=first, after=None)


@pytest.mark.parametrize("first", [1, 100])
async def test_page_size_limits_accepted(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub, first: int
) -> None:
    await seed(store, hub, BOB, ALICE, 3)
    page = await service.inbox(ALICE, first=first, after=None, unread_only=False)
    assert len(page.entries) == min(first, 3)
    assert page.has_next_page is (first < 3)


async def test_inbox_pages_cover_everything_newest_first(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 25)
    await seed(store, hub, ALICE, CAROL, 3)  # someone else's inbox
    seen: list[MessageId] = []
    after: str | None = None
    pages = 0
    while True:
        page = await service.inbox(ALICE, first=10, after=after, unread_only=False)
        pages += 1
        seen.extend(ids_of(page.entries))
        if not page.has_next_page:
            break
        after = encode_cursor(page.entries[-1].id)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25
    assert seen == [m.id for m in reversed(sent)]


async def test_inbox_last_full_page_has_no_next(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    await seed(store, hub, BOB, ALICE, 20)
    first = await service.inbox(ALICE, first=10, after=None, unread_only=False)
    assert first.has_next_page
    second = await service.inbox(
        ALICE, first=10, after=encode_cursor(first.entries[-1].id), unread_only=False
    )
    assert len(second.entries) == 10
    assert not second.has_next_page


async def test_empty_inbox(service: InboxService) -> None:
    page = await service.inbox(ALICE, first=10, after=None, unread_only=True)
    assert page.entries == []
    assert not page.has_next_page


@pytest.mark.parametrize(
    "cursor",
    ["", "garbage!", "bTE6", "not-base64-$$$", encode_cursor(MessageId("X" * 26)), "\u00e9"],
)
async def test_malformed_cursor(service: InboxService, cursor: str) -> None:
    with pytest.raises(BadUserInput, match="after"):
        await service.inbox(ALICE, first=10, after=cursor, unread_only=False)
    with pytest.raises(BadUserInput, match="after"):
        await service.conversation(ALICE, BOB, first=10, after=cursor)


async def test_inbox_unread_only(
    service: InboxService, read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 12)
    read = {m.id for m in sent[::2]}
    await read_marks.mark_read(ALICE, list(read))
    unread = [m.id for m in reversed(sent) if m.id not in read]
    first = await service.inbox(ALICE, first=4, after=None, unread_only=True)
    assert ids_of(first.entries) == unread[:4]
    assert first.has_next_page
    second = await service.inbox(
        ALICE, first=4, after=encode_cursor(first.entries[-1].id), unread_only=True
    )
    assert ids_of(second.entries) == unread[4:]
    assert not second.has_next_page
    assert all(not e.is_read for e in first.entries + second.entries)
    everything = await service.inbox(ALICE, first=100, after=None, unread_only=False)
    assert len(everything.entries) == 12


async def test_conversation_holds_both_directions_only(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    talk = [
        make_message(BOB, ALICE, 1),
        make_message(ALICE, BOB, 2),
        make_message(BOB, ALICE, 3),
        make_message(ALICE, BOB, 4),
        make_message(ALICE, BOB, 5),
    ]
    noise = [make_message(CAROL, ALICE, 6), make_message(BOB, CAROL, 7)]
    for message in talk + noise:
        await deliver(message, store, hub)
    expected = [m.id for m in reversed(talk)]
    first = await service.conversation(ALICE, BOB, first=3, after=None)
    assert ids_of(first.entries) == expected[:3]
    assert first.has_next_page
    second = await service.conversation(
        ALICE, BOB, first=3, after=encode_cursor(first.entries[-1].id)
    )
    assert ids_of(second.entries) == expected[3:]
    assert not second.has_next_page
    # The same conversation, seen from the other side.
    from_bob = await service.conversation(BOB, ALICE, first=10, after=None)
    assert ids_of(from_bob.entries) == expected


async def test_conversation_rejects_malformed_user(service: InboxService) -> None:
    with pytest.raises(BadUserInput, match="withUserId"):
        await service.conversation(ALICE, "a#b", first=10, after=None)


# --- message() ---------------------------------------------------------------------------


async def test_message_is_visible_to_sender_and_recipient(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    for viewer in (ALICE, BOB):
        found = await service.message(viewer, sent.id)
        assert found is not None
        entry, message = found
        assert message == sent
        assert (entry.id, entry.recipient_id, entry.is_read) == (sent.id, ALICE, False)


@pytest.mark.parametrize("raw", ["", "nope", "0" * 27, "8" + "0" * 25])
async def test_message_null_for_malformed_id(
    service: InboxService, store: FakeMessageStore, raw: str
) -> None:
    assert await service.message(ALICE, raw) is None
    assert store.calls["get_messages"] == 0


async def test_message_null_for_unknown_and_for_strangers(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    assert await service.message(CAROL, sent.id) is None
    unknown = new_message_id(BASE)
    assert await service.message(ALICE, unknown) is None


async def test_message_uses_the_cache(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    assert await service.message(ALICE, sent.id) is not None
    assert store.calls["get_messages"] == 1
    assert cache.data == {sent.id: sent}
    found = await service.message(BOB, sent.id)
    assert found is not None
    assert found[1] == sent
    assert store.calls["get_messages"] == 1
    assert cache.calls["get_many"] == 2


async def test_message_survives_a_cache_outage(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    cache.unavailable = True
    for _ in range(2):
        found = await service.message(ALICE, sent.id)
        assert found is not None
        assert found[1] == sent
    assert store.calls["get_messages"] == 2
    assert cache.calls["get_many"] == 2
    assert cache.calls["put_many"] == 2
    assert cache.data == {}


async def test_load_messages_reads_only_what_the_cache_misses(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub, cache: FakeMessageCache
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 3)
    cache.data[sent[0].id] = sent[0]
    ids = [m.id for m in sent]
    assert await service.load_messages(ids) == {m.id: m for m in sent}
    assert store.calls["get_messages"] == 1
    assert set(cache.data) == set(ids)


# --- live updates ------------------------------------------------------------------------


def as_generator(iterator: object) -> AsyncGenerator[int, None]:
    return cast(AsyncGenerator[int, None], iterator)


async def test_watch_unread_count_starts_with_the_snapshot_and_drops_stale_versions(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    await seed(store, hub, BOB, ALICE, 2)
    watch = as_generator(service.watch_unread_count(ALICE))
    try:
        assert await anext(watch) == 2
        assert hub.subscriber_count(ALICE) == 1
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 7, 1))  # older
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 8, 2))  # same version
        await hub.publish(ALICE, MessageReceived(make_message(BOB, ALICE, 9)))
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 3, 3))
        assert await anext(watch) == 3
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 9, 3))  # repeated
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 1, 2))  # out of order
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 5, 10))
        assert await anext(watch) == 5
    finally:
        await watch.aclose()
    assert hub.subscriber_count(ALICE) == 0


async def test_watch_unread_count_subscribes_before_reading_the_snapshot(
    service: InboxService,
    store: FakeMessageStore,
    hub: FakeEventHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_count = store.unread_count
    subscribed_at_snapshot: list[int] = []
    late = make_message(BOB, ALICE, 1)

    async def snapshot_then_a_delivery(user_id: UserId) -> UnreadCount:
        current = await read_count(user_id)
        if not subscribed_at_snapshot:
            subscribed_at_snapshot.append(hub.subscriber_count(user_id))
            # A delivery lands just after the snapshot was read: its event must not be lost.
            await deliver(late, store, hub)
        return current

    monkeypatch.setattr(store, "unread_count", snapshot_then_a_delivery)
    watch = as_generator(service.watch_unread_count(ALICE))
    try:
        assert await anext(watch) == 0
        assert subscribed_at_snapshot == [1]
        assert await asyncio.wait_for(anext(watch), timeout=5) == 1
    finally:
        await watch.aclose()


async def test_watch_unread_count_follows_deliveries_and_reads(
    service: InboxService, read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    watch = as_generator(service.watch_unread_count(ALICE))
    try:
        assert await anext(watch) == 0
        sent = [make_message(BOB, ALICE, n) for n in range(2)]
        await deliver(sent[0], store, hub)
        assert await anext(watch) == 1
        await deliver(sent[1], store, hub)
        assert await anext(watch) == 2
        await read_marks.mark_read(ALICE, [sent[0].id])
        assert await anext(watch) == 1
        # Redelivery republishes the same snapshot; it is not yielded again.
        await deliver(sent[1], store, hub)
        await read_marks.mark_read(ALICE, [sent[1].id])
        assert await anext(watch) == 0
    finally:
        await watch.aclose()


async def test_watch_unread_count_yields_the_newest_of_counts_it_fell_behind_on(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    watch = as_generator(service.watch_unread_count(ALICE))
    try:
        assert await anext(watch) == 0
        # Three deliveries before the subscriber reads again: it needs only the newest count.
        await seed(store, hub, BOB, ALICE, 3)
        assert await anext(watch) == 3
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 4, 4))
        assert await anext(watch) == 4
    finally:
        await watch.aclose()


async def test_watch_unread_count_rereads_after_a_gap(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    watch = as_generator(service.watch_unread_count(ALICE))
    try:
        assert await anext(watch) == 0
        # Missed: delivered while the publisher was down.
        hub.unavailable = True
        await seed(store, hub, BOB, ALICE, 3)
        hub.unavailable = False
        reads = store.calls["unread_count"]
        hub.inject_gap(ALICE)
        assert await anext(watch) == 3
        assert store.calls["unread_count"] == reads + 1
        # A gap with nothing changed yields nothing: the next value is the next change.
        hub.inject_gap(ALICE)
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 3, 3))  # already seen via the gap
        await hub.publish(ALICE, UnreadCountChanged(ALICE, 4, 4))
        assert await anext(watch) == 4
        assert store.calls["unread_count"] == reads + 2
    finally:
        await watch.aclose()


async def test_watch_messages_yields_only_new_messages_for_the_user(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    watch = cast(AsyncGenerator[Message, None], service.watch_messages(ALICE))
    waiting = asyncio.ensure_future(anext(watch))
    try:
        await hub.wait_for_subscriber(ALICE)
        await seed(store, hub, BOB, CAROL, 1)  # not alice's
        hub.inject_gap(ALICE)
        (sent,) = await seed(store, hub, BOB, ALICE, 1)
        assert await asyncio.wait_for(waiting, timeout=5) == sent
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await watch.aclose()
    assert hub.subscriber_count(ALICE) == 0
