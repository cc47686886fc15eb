"""Conversation summaries, held of `FakeMessageStore` and of `DynamoMessageStore` on DynamoDB
Local alike: each conversation's unread count equals the unread messages in it and they add up
to the unread counter, after deliveries, redeliveries and markRead; the list pages newest
first without repeats while messages arrive; a late message moves nothing; the sender's side
moves once, however often a delivery runs.

The list reads an eventually consistent index, so the cases read it until it settles (on
DynamoDB Local it is at once)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from services.change_log import Delivered
from services.domain import Message, MessageId, UserId, new_message_id
from services.ports import MessageStore
from services.read_state import ConversationSummary
from tests.conftest import new_user
from tests.polling import eventually

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


async def deliver(store: MessageStore, sent: Message) -> Delivered:
    """As the worker delivers: the transaction, then the sender's side (also after a
    redelivery)."""
    delivered = await store.deliver(sent)
    await store.touch_sender_summary(sent)
    return delivered


def message(sender: UserId, recipient: UserId, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"hello {n}", at)


async def listed(store: MessageStore, user_id: UserId) -> list[ConversationSummary]:
    page = await store.list_conversations(user_id, limit=100, before=None)
    return page.summaries


async def settles_to(
    store: MessageStore, user_id: UserId, expected: dict[UserId, tuple[MessageId, int]]
) -> None:
    """The list shows exactly these conversations (other user -> newest id, unread), in
    newest-first order."""

    async def check() -> bool:
        rows = await listed(store, user_id)
        seen = {row.other_id: (row.last_message_id, row.unread) for row in rows}
        order = [row.last_message_id or "" for row in rows]
        return seen == expected and order == sorted(order, reverse=True)

    await eventually(check, lambda: f"the conversations of {user_id} to be {expected}")


async def unread_by_sender(store: MessageStore, user_id: UserId) -> Counter[UserId]:
    page = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
    return Counter(entry.sender_id for entry in page.entries if not entry.is_read)


async def test_counts_add_up_after_deliveries_redeliveries_and_mark_read(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [message(bob, alice, n) for n in range(3)]
    from_carol = [message(carol, alice, n) for n in range(10, 12)]
    note = message(alice, alice, 20)
    for sent in [*from_bob, *from_carol, note]:
        assert (await deliver(store, sent)).stored
    # Redeliveries change no count.
    assert not (await deliver(store, from_bob[0])).stored
    assert not (await deliver(store, note)).stored
    marked = await store.mark_read(alice, [from_bob[1].id, from_carol[0].id], BASE)
    assert len(marked.changes) == 1
    # Marking again flips nothing and lowers nothing.
    await store.mark_read(alice, [from_bob[1].id], BASE)

    await settles_to(
        store,
        alice,
        {alice: (note.id, 1), carol: (from_carol[1].id, 1), bob: (from_bob[2].id, 2)},
    )
    rows = await listed(store, alice)
    unread = await unread_by_sender(store, alice)
    assert {row.other_id: row.unread for row in rows} == dict(unread)
    assert sum(row.unread for row in rows) == (await store.unread_count(alice)).count == 4


async def test_the_sender_sees_the_conversation_with_nothing_unread(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    first, reply = message(alice, bob, 1), message(bob, alice, 2)
    await deliver(store, first)
    await settles_to(store, alice, {bob: (first.id, 0)})
    await settles_to(store, bob, {alice: (first.id, 1)})
    await deliver(store, reply)
    # A reply moves the conversation for both participants.
    await settles_to(store, alice, {bob: (reply.id, 1)})
    await settles_to(store, bob, {alice: (reply.id, 1)})
    rows = await listed(store, alice)
    assert [row.last_sent_by_owner for row in rows] == [False]
    assert [row.last_sent_by_owner for row in await listed(store, bob)] == [True]


async def test_a_late_message_does_not_move_the_conversation(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    newer, late = message(bob, alice, 50), message(bob, alice, 10)
    await deliver(store, newer)
    assert (await deliver(store, late)).stored
    await settles_to(store, alice, {bob: (newer.id, 2)})
    await settles_to(store, bob, {alice: (newer.id, 0)})


async def test_the_senders_follow_up_is_idempotent(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    older, newer = message(alice, bob, 1), message(alice, bob, 2)
    await deliver(store, older)
    await deliver(store, newer)
    # A redelivery of the older one runs the follow-up again: it must not move back.
    await store.touch_sender_summary(older)
    assert not (await deliver(store, older)).stored
    assert not (await deliver(store, newer)).stored
    await settles_to(store, alice, {bob: (newer.id, 0)})
    await settles_to(store, bob, {alice: (newer.id, 2)})


async def test_a_note_to_self_has_one_summary(store: MessageStore) -> None:
    alice = user("alice")
    note, other_note = message(alice, alice, 1), message(alice, alice, 2)
    await deliver(store, note)
    await deliver(store, other_note)
    await settles_to(store, alice, {alice: (other_note.id, 2)})
    [row] = await listed(store, alice)
    assert row.last_sent_by_owner
    await store.mark_read(alice, [note.id, other_note.id], BASE)
    await settles_to(store, alice, {alice: (other_note.id, 0)})


async def test_mark_read_across_many_conversations_keeps_each_count(store: MessageStore) -> None:
    alice = user("alice")
    senders = [user(f"s{i}") for i in range(40)]
    sent = [
        message(sender, alice, 3 * i + k) for i, sender in enumerate(senders) for k in (0, 1, 2)
    ]
    for each in sent:
        await deliver(store, each)
    # 80 entries from 40 senders: 120 items beside the counter, so two transactions.
    marked = await store.mark_read(alice, [each.id for each in sent[:80]], BASE)
    assert len(marked.entries) == 80
    assert len(marked.changes) == 2
    counts = await unread_by_sender(store, alice)
    await settles_to(
        store,
        alice,
        {sender: (sent[3 * i + 2].id, counts[sender]) for i, sender in enumerate(senders)},
    )
    assert (await store.unread_count(alice)).count == 40 == sum(counts.values())


async def test_pages_hold_no_conversation_twice_while_messages_arrive(
    store: MessageStore,
) -> None:
    alice = user("alice")
    others = [user(f"o{i}") for i in range(7)]
    for i, other in enumerate(others):
        await deliver(store, message(other, alice, i))
    await eventually(lambda: _counted(store, alice, len(others)), "every conversation to be listed")
    seen: list[UserId] = []
    before: MessageId | None = None
    moved: set[UserId] = set()
    tick = 100
    while True:
        page = await store.list_conversations(alice, limit=2, before=before)
        page_others = [row.other_id for row in page.summaries]
        assert len(set(page_others)) == len(page_others)
        seen.extend(page_others)
        # Between pages, one conversation already listed and one not yet listed get a message:
        # both move above the cursor.
        unlisted = [other for other in others if other not in seen and other not in moved]
        for other in [page_others[0], *unlisted[-1:]]:
            tick += 1
            await deliver(store, message(other, alice, tick))
            moved.add(other)
        if not page.has_next_page:
            break
        before = page.summaries[-1].last_message_id
    assert len(set(seen)) == len(seen), f"a conversation was listed twice: {seen}"
    assert set(others) - moved <= set(seen)


async def _counted(store: MessageStore, user_id: UserId, expected: int) -> bool:
    return len(await listed(store, user_id)) == expected


async def test_the_senders_side_waits_for_the_follow_up(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(alice, bob, 1)
    assert (await store.deliver(sent)).stored
    # The recipient's side is in the delivery's transaction; the sender's is not yet there.
    await settles_to(store, bob, {alice: (sent.id, 1)})
    assert await listed(store, alice) == []
    await store.touch_sender_summary(sent)
    await settles_to(store, alice, {bob: (sent.id, 0)})
