"""deleteMessage and the API's pre-write, held of `FakeMessageStore` and of `DynamoMessageStore`
on DynamoDB Local alike: a message deleted while queued is never delivered, however often
delivery runs; a delivered one leaves the recipient's inbox with its counts, the log records
the deletion at the next version and marks the arrival, and both sides' conversation lists fall
back to the previous message or drop the conversation. Anyone but the sender, an unknown id and
a second call get `deleted: false` and change nothing.

The conversation list reads an eventually consistent index: the cases read it until it settles
(on DynamoDB Local it is at once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.change_log import (
    InboxChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
)
from services.domain import Message, MessageId, UnreadCount, UserId, new_message_id
from services.ports import MessageStore
from tests.contract.message_stores import expire_logged_change
from tests.contract.test_summaries_contract import deliver, listed, settles_to, user

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DELETED_AT = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
# `changes` asked at the time the log was written: nothing is past the retention.
NOW = datetime.now(UTC)


def message(sender: UserId, recipient: UserId, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"hello {n}", at)


async def send(store: MessageStore, sent: Message) -> None:
    """As the API and then the worker do."""
    await store.accept(sent)
    delivered = await deliver(store, sent)
    assert delivered.stored


async def log_of(store: MessageStore, user_id: UserId) -> list[InboxChange]:
    return list((await store.changes(user_id, since=0, limit=100, now=NOW)).changes)


async def recount(store: MessageStore, user_id: UserId) -> int:
    page = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
    return sum(not entry.is_read for entry in page.entries)


async def test_a_message_deleted_while_queued_is_never_delivered(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    queued = message(alice, bob, 1)
    await store.accept(queued)
    deletion = await store.delete_message(alice, queued.id, DELETED_AT)
    assert deletion.deleted and deletion.change is None and deletion.recipient_id == bob
    # The first delivery, a redelivery, a redrive from the dead-letter queue: all refused.
    for _ in range(3):
        delivered = await store.deliver(queued)
        assert delivered.deleted and not delivered.stored
    assert await store.unread_count(bob) == UnreadCount(0, 0)
    assert await store.get_entries(bob, [queued.id]) == {}
    assert await listed(store, bob) == [] and await listed(store, alice) == []
    # The record is a tombstone: who and when, no body.
    tombstone = (await store.get_messages([queued.id]))[queued.id]
    assert tombstone.body == "" and tombstone.deleted_at == DELETED_AT
    # A send retried with its clientMessageId accepts again: the body does not come back.
    await store.accept(queued)
    assert (await store.get_messages([queued.id]))[queued.id].deleted_at == DELETED_AT
    assert (await store.delete_message(alice, queued.id, DELETED_AT)).deleted is False


async def test_accepting_again_changes_nothing_and_delivery_stores_it_once(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(alice, bob, 1)
    await store.accept(sent)
    await store.accept(sent)
    assert (await store.deliver(sent)).stored
    again = await store.deliver(sent)
    assert not again.stored and not again.deleted
    assert await store.unread_count(bob) == UnreadCount(1, 1)
    assert (await store.get_messages([sent.id]))[sent.id].body == "hello 1"


async def test_deleting_an_unread_message_drops_every_count_and_logs_it(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    first, second = message(alice, bob, 1), message(alice, bob, 2)
    for sent in (first, second):
        await send(store, sent)
    deletion = await store.delete_message(alice, second.id, DELETED_AT)
    assert deletion.deleted and deletion.recipient_id == bob
    assert deletion.change == InboxChange(3, 1, MessageDeletedChange(second.id))
    assert await store.unread_count(bob) == UnreadCount(1, 3)
    assert await recount(store, bob) == 1
    assert await store.get_entries(bob, [second.id]) == {}
    # The log is contiguous, its counts are the recounts, and the arrival is marked.
    assert await log_of(store, bob) == [
        InboxChange(1, 1, MessageReceivedChange(first.id)),
        InboxChange(2, 2, MessageReceivedChange(second.id, DELETED_AT)),
        InboxChange(3, 1, MessageDeletedChange(second.id)),
    ]
    # Both sides fall back to the previous message; the recipient's count follows.
    await settles_to(store, bob, {alice: (first.id, 1)})
    await settles_to(store, alice, {bob: (first.id, 0)})
    page = await store.list_conversation(alice, bob, limit=10, before=None)
    assert [entry.id for entry in page.entries] == [first.id]


async def test_deleting_a_read_message_moves_the_version_only(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(alice, bob, 1)
    await send(store, sent)
    await store.mark_read(bob, [sent.id], BASE + timedelta(seconds=1))
    deletion = await store.delete_message(alice, sent.id, DELETED_AT)
    assert deletion.change == InboxChange(3, 0, MessageDeletedChange(sent.id))
    assert await store.unread_count(bob) == UnreadCount(0, 3)
    kinds = [type(change.payload) for change in await log_of(store, bob)]
    assert kinds == [MessageReceivedChange, MessagesReadChange, MessageDeletedChange]


async def test_a_conversation_left_empty_leaves_both_lists_for_good(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    only, other = message(alice, bob, 1), message(carol, bob, 2)
    await send(store, only)
    await send(store, other)
    assert (await store.delete_message(alice, only.id, DELETED_AT)).deleted
    await settles_to(store, alice, {})
    await settles_to(store, bob, {carol: (other.id, 1)})
    # A sender's follow-up that comes late (the worker ran it after the deletion) does not
    # bring the deleted message back.
    await store.touch_sender_summary(only)
    await settles_to(store, alice, {})
    # A new message brings the conversation back, with only itself counted.
    later = message(alice, bob, 3)
    await send(store, later)
    await settles_to(store, alice, {bob: (later.id, 0)})
    await settles_to(store, bob, {alice: (later.id, 1), carol: (other.id, 1)})


async def test_the_newest_falls_back_across_directions(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    from_bob, from_alice = message(bob, alice, 1), message(alice, bob, 2)
    await send(store, from_bob)
    await send(store, from_alice)
    assert (await store.delete_message(alice, from_alice.id, DELETED_AT)).deleted
    await settles_to(store, alice, {bob: (from_bob.id, 1)})
    await settles_to(store, bob, {alice: (from_bob.id, 0)})
    rows = await listed(store, bob)
    assert rows[0].last_sent_by_owner and not (await listed(store, alice))[0].last_sent_by_owner


async def test_a_note_to_self_is_deleted_from_its_one_summary(store: MessageStore) -> None:
    alice = user("alice")
    note = message(alice, alice, 1)
    await send(store, note)
    deletion = await store.delete_message(alice, note.id, DELETED_AT)
    assert deletion.change == InboxChange(2, 0, MessageDeletedChange(note.id))
    assert await store.unread_count(alice) == UnreadCount(0, 2)
    await settles_to(store, alice, {})


async def test_anyone_but_the_sender_and_a_second_call_change_nothing(
    store: MessageStore,
) -> None:
    alice, bob, mallory = user("alice"), user("bob"), user("mallory")
    sent = message(alice, bob, 1)
    await send(store, sent)
    unknown = MessageId(new_message_id(BASE))
    for caller, target in ((bob, sent.id), (mallory, sent.id), (alice, unknown)):
        refused = await store.delete_message(caller, target, DELETED_AT)
        assert not refused.deleted and refused.change is None and refused.recipient_id is None
    assert await store.unread_count(bob) == UnreadCount(1, 1)
    assert (await store.get_messages([sent.id]))[sent.id].deleted_at is None
    assert (await store.delete_message(alice, sent.id, DELETED_AT)).deleted
    second = await store.delete_message(alice, sent.id, DELETED_AT)
    assert not second.deleted
    assert await store.unread_count(bob) == UnreadCount(0, 2)
    # A redelivery of the deleted message stores nothing, and is acknowledged as deleted.
    assert (await store.deliver(sent)).deleted
    assert await store.unread_count(bob) == UnreadCount(0, 2)


async def test_an_arrival_no_longer_logged_does_not_stop_the_deletion(
    store: MessageStore,
) -> None:
    """The arrival's change has expired (TTL deleted it): there is nothing left to mark, and
    the deletion goes on without it."""
    alice, bob = user("alice"), user("bob")
    first, second = message(alice, bob, 1), message(alice, bob, 2)
    for sent in (first, second):
        await send(store, sent)
    await expire_logged_change(store, bob, 1)
    deletion = await store.delete_message(alice, first.id, DELETED_AT)
    assert deletion.change == InboxChange(3, 1, MessageDeletedChange(first.id))
    assert await store.unread_count(bob) == UnreadCount(1, 3)
    changes = (await store.changes(bob, since=1, limit=10, now=NOW)).changes
    assert changes == (
        InboxChange(2, 2, MessageReceivedChange(second.id)),
        InboxChange(3, 1, MessageDeletedChange(first.id)),
    )
    await settles_to(store, bob, {alice: (second.id, 1)})
