"""Read marks, held of `FakeMessageStore` and of `DynamoMessageStore` on DynamoDB Local alike:
markUnread is the mirror of markRead; markConversationRead and markAllRead are horizons, one
logged change each whatever they flip, none when nothing was unread; a message delivered after
a horizon stays unread whenever it was sent; a message marked unread under a horizon counts
again, and reads again. After every step the log is contiguous, each change's count is the
unread count at its version, and the conversations' counts add up to the counter
(docs/conversations-design.md, sections 2, 3 and 4.2-4.6)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from services.change_log import (
    InboxChange,
    MarkedRead,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import InboxEntry, Message, MessageId, UnreadCount, UserId, new_message_id
from services.ports import MessageStore
from tests.conftest import new_user
from tests.faults.checker import Inbox, Seen, check_log
from tests.faults.inbox_readers import logged
from tests.polling import eventually

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
AT = BASE + timedelta(hours=1)


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


def message(sender: UserId, recipient: UserId, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"hello {n}", at)


async def deliver(store: MessageStore, *sent: Message) -> None:
    """As the worker delivers: the transaction, then the sender's side."""
    for each in sent:
        assert (await store.deliver(each)).stored
        await store.touch_sender_summary(each)


def ids(entries: list[InboxEntry]) -> list[MessageId]:
    return [entry.id for entry in entries]


async def whole_log(store: MessageStore, user_id: UserId) -> list[InboxChange]:
    found: list[InboxChange] = []
    since = 0
    while True:
        batch = await store.changes(user_id, since=since, limit=100, now=datetime.now(UTC))
        found.extend(batch.changes)
        since = batch.version
        if not batch.has_more:
            return found


async def unread_by_sender(store: MessageStore, user_id: UserId) -> Counter[UserId]:
    page = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
    assert not page.has_next_page
    return Counter(entry.sender_id for entry in page.entries if not entry.is_read)


async def consistent(store: MessageStore, user_id: UserId) -> UnreadCount:
    """The counter, after checking it against everything else the store shows of the user:
    the log runs 1..version with the counter's count last, and replays to each change's count
    and to the unread entries (the fault checker's replay); the unread entries, the
    `unreadOnly` listing and the counter agree; and each conversation's count is the unread
    messages from that user (the list reads an index: it may take a moment to settle)."""
    counter = await store.unread_count(user_id)
    log = await whole_log(store, user_id)
    assert [change.version for change in log] == list(range(1, counter.version + 1))
    assert not log or log[-1].count == counter.count
    page = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
    seen = tuple(Seen(e.id, e.recipient_id, "", e.is_read, e.sender_id) for e in page.entries)
    # Replayed from empty, the log gives each change's count and ends on the unread entries.
    replayed = Inbox(user_id, counter.count, seen, tuple(map(logged, log)), counter.version)
    assert check_log(replayed) == []
    by_sender = await unread_by_sender(store, user_id)
    assert sum(by_sender.values()) == counter.count
    unread_only = await store.list_inbox(user_id, limit=100, before=None, unread_only=True)
    assert len(unread_only.entries) == counter.count
    assert all(not entry.is_read for entry in unread_only.entries)

    async def settled() -> bool:
        page = await store.list_conversations(user_id, limit=100, before=None)
        listed = {s.other_id: s.unread for s in page.summaries if s.unread}
        return listed == dict(by_sender) and sum(listed.values()) == counter.count

    await eventually(settled, lambda: f"{user_id}'s conversation counts to be {by_sender}")
    return counter


def flipped_unread(marked: MarkedRead) -> list[MessageId]:
    found: list[MessageId] = []
    for change in marked.changes:
        assert isinstance(change.payload, MessagesUnreadChange)
        found.extend(change.payload.message_ids)
    return found


# --- markUnread ----------------------------------------------------------------------------


async def test_mark_unread_mirrors_mark_read(store: MessageStore) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [message(bob, alice, n) for n in range(4)]
    from_carol = message(carol, alice, 10)
    to_bob = message(alice, bob, 20)
    await deliver(store, *from_bob, from_carol, to_bob)
    await store.mark_read(alice, [from_bob[0].id, from_bob[1].id, from_carol.id], BASE)
    before = await consistent(store, alice)
    assert before.count == 2

    asked = [from_carol.id, to_bob.id, from_bob[1].id, from_bob[3].id, message(bob, alice, 9).id]
    marked = await store.mark_unread(alice, asked, AT)
    # The user's own among the ids, in the order asked, all unread now; the others left out.
    assert ids(marked.entries) == [from_carol.id, from_bob[1].id, from_bob[3].id]
    assert not any(entry.is_read for entry in marked.entries)
    # One change, of the two that were read: the third was unread already.
    (change,) = marked.changes
    assert sorted(flipped_unread(marked)) == sorted([from_carol.id, from_bob[1].id])
    assert (change.version, change.count) == (before.version + 1, 4)
    after = await consistent(store, alice)
    assert after == UnreadCount(4, before.version + 1)
    assert await unread_by_sender(store, alice) == {bob: 3, carol: 1}
    # Someone else's message is untouched.
    assert (await store.unread_count(bob)).count == 1

    # Twice gives the same answer and changes nothing.
    again = await store.mark_unread(alice, asked, AT + timedelta(seconds=1))
    assert again.entries == marked.entries
    assert again.changes == ()
    assert await consistent(store, alice) == after


async def test_mark_read_after_mark_unread_reads_it_again(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    await deliver(store, sent)
    await store.mark_read(alice, [sent.id], BASE)
    await store.mark_unread(alice, [sent.id], AT)
    assert (await consistent(store, alice)).count == 1
    (entry,) = (await store.get_entries(alice, [sent.id])).values()
    assert not entry.is_read
    later = AT + timedelta(minutes=1)
    reread = await store.mark_read(alice, [sent.id], later)
    assert [(e.id, e.read_at) for e in reread.entries] == [(sent.id, later)]
    assert len(reread.changes) == 1
    assert (await consistent(store, alice)).count == 0


async def test_mark_unread_of_nothing_read_changes_nothing(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    await deliver(store, sent)
    before = await store.unread_count(alice)
    marked = await store.mark_unread(alice, [sent.id, message(bob, alice, 2).id], AT)
    assert ids(marked.entries) == [sent.id]
    assert marked.changes == ()
    assert await consistent(store, alice) == before


# --- markConversationRead ------------------------------------------------------------------


async def test_mark_conversation_read_flips_only_that_conversation(store: MessageStore) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [message(bob, alice, n) for n in range(5)]
    from_carol = [message(carol, alice, 10 + n) for n in range(2)]
    await deliver(store, *from_bob, *from_carol, message(alice, bob, 30))
    await store.mark_read(alice, [from_bob[4].id], BASE)  # read before: not flipped again
    before = await consistent(store, alice)

    marked = await store.mark_conversation_read(alice, bob, AT, list_limit=2)
    # The newest it flipped, newest first, no more than asked, each read now.
    assert ids(marked.entries) == [from_bob[3].id, from_bob[2].id]
    assert all(entry.read_at == AT for entry in marked.entries)
    (change,) = marked.changes
    assert change == InboxChange(
        before.version + 1, 2, MessagesReadChange(all_before=AT, with_user_id=bob)
    )
    assert await consistent(store, alice) == UnreadCount(2, before.version + 1)
    assert await unread_by_sender(store, alice) == {carol: 2}
    # What it flipped is read at the call. (What was read before stays read; its readAt may
    # move to the horizon's: docs/conversations-design.md, "Decisions in step 1".)
    read = await store.get_entries(alice, [m.id for m in from_bob])
    assert [read[m.id].read_at for m in from_bob[:4]] == [AT] * 4
    assert read[from_bob[4].id].is_read
    # The other side of the conversation is not the caller's to read.
    assert (await store.unread_count(bob)).count == 1


async def test_mark_conversation_read_with_nothing_unread_changes_nothing(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    sent = message(bob, alice, 1)
    await deliver(store, sent, message(carol, alice, 2))
    await store.mark_read(alice, [sent.id], BASE)
    before = await store.unread_count(alice)
    for other in (bob, user("stranger")):
        marked = await store.mark_conversation_read(alice, other, AT, list_limit=100)
        assert marked == MarkedRead([])
    assert await consistent(store, alice) == before


async def test_a_message_delivered_after_mark_conversation_read_stays_unread(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    # Sent before the call, delivered after it (a slow queue): the horizon does not cover it.
    early, late = message(bob, alice, 1), message(bob, alice, 2)
    await deliver(store, early)
    await store.mark_conversation_read(alice, bob, AT, list_limit=100)
    await deliver(store, late)
    entries = await store.get_entries(alice, [early.id, late.id])
    assert entries[early.id].is_read and not entries[late.id].is_read
    assert (await consistent(store, alice)).count == 1
    assert await unread_by_sender(store, alice) == {bob: 1}


async def test_mark_unread_under_a_horizon_counts_that_message_again(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(3)]
    await deliver(store, *sent)
    await store.mark_conversation_read(alice, bob, AT, list_limit=100)
    marked = await store.mark_unread(alice, [sent[1].id], AT + timedelta(seconds=1))
    assert flipped_unread(marked) == [sent[1].id]
    assert (await consistent(store, alice)).count == 1
    assert await unread_by_sender(store, alice) == {bob: 1}
    entries = await store.get_entries(alice, [m.id for m in sent])
    assert [entries[m.id].is_read for m in sent] == [True, False, True]
    # Read again, by markRead or by the next horizon.
    await store.mark_read(alice, [sent[1].id], AT + timedelta(seconds=2))
    assert (await consistent(store, alice)).count == 0
    await store.mark_unread(alice, [sent[0].id, sent[2].id], AT + timedelta(seconds=3))
    assert (await consistent(store, alice)).count == 2
    again = await store.mark_conversation_read(alice, bob, AT + timedelta(seconds=4), list_limit=9)
    assert ids(again.entries) == [sent[2].id, sent[0].id]
    assert (await consistent(store, alice)).count == 0


async def test_notes_to_self_are_a_conversation_of_their_own(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    notes = [message(alice, alice, n) for n in range(2)]
    from_bob = message(bob, alice, 5)
    await deliver(store, *notes, from_bob)
    marked = await store.mark_conversation_read(alice, alice, AT, list_limit=100)
    assert ids(marked.entries) == [notes[1].id, notes[0].id]
    (change,) = marked.changes
    assert change.payload == MessagesReadChange(all_before=AT, with_user_id=alice)
    assert await unread_by_sender(store, alice) == {bob: 1}
    unmarked = await store.mark_unread(alice, [notes[0].id], AT + timedelta(seconds=1))
    assert flipped_unread(unmarked) == [notes[0].id]
    assert (await consistent(store, alice)).count == 2
    assert await unread_by_sender(store, alice) == {alice: 1, bob: 1}


# --- markAllRead ---------------------------------------------------------------------------


async def test_mark_all_read_is_one_change_whatever_it_flips(store: MessageStore) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [message(bob, alice, n) for n in range(4)]
    from_carol = [message(carol, alice, 10 + n) for n in range(3)]
    note = message(alice, alice, 20)
    await deliver(store, *from_bob, *from_carol, note)
    await store.mark_read(alice, [from_carol[2].id], BASE)
    before = await consistent(store, alice)

    marked = await store.mark_all_read(alice, AT, list_limit=3)
    assert ids(marked.entries) == [note.id, from_carol[1].id, from_carol[0].id]
    assert all(entry.read_at == AT for entry in marked.entries)
    (change,) = marked.changes
    assert change == InboxChange(before.version + 1, 0, MessagesReadChange(all_before=AT))
    assert await consistent(store, alice) == UnreadCount(0, before.version + 1)
    entries = await store.get_entries(alice, [m.id for m in from_bob])
    assert all(entry.read_at == AT for entry in entries.values())

    # Nothing left unread: no change, the version stays.
    assert await store.mark_all_read(alice, AT + timedelta(seconds=1), list_limit=3) == (
        MarkedRead([])
    )
    assert (await store.unread_count(alice)).version == before.version + 1


async def test_a_message_delivered_after_mark_all_read_stays_unread(store: MessageStore) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    early, late = message(bob, alice, 1), message(bob, alice, 2)
    await deliver(store, early, message(carol, alice, 3))
    await store.mark_all_read(alice, AT, list_limit=100)
    await deliver(store, late)  # sent before the call, delivered after it
    entries = await store.get_entries(alice, [early.id, late.id])
    assert entries[early.id].is_read and not entries[late.id].is_read
    assert (await consistent(store, alice)).count == 1
    assert await unread_by_sender(store, alice) == {bob: 1}


async def test_mark_unread_under_mark_all_read_counts_it_in_its_conversation(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [message(bob, alice, n) for n in range(2)]
    from_carol = message(carol, alice, 5)
    await deliver(store, *from_bob, from_carol)
    await store.mark_all_read(alice, AT, list_limit=100)
    await store.mark_unread(alice, [from_bob[0].id], AT + timedelta(seconds=1))
    assert (await consistent(store, alice)).count == 1
    assert await unread_by_sender(store, alice) == {bob: 1}
    # A conversation read afterwards leaves the other conversations as they are.
    await deliver(store, message(carol, alice, 6))
    await store.mark_conversation_read(alice, bob, AT + timedelta(seconds=2), list_limit=100)
    assert (await consistent(store, alice)).count == 1
    assert await unread_by_sender(store, alice) == {carol: 1}
    await store.mark_all_read(alice, AT + timedelta(seconds=3), list_limit=100)
    assert (await consistent(store, alice)).count == 0


async def test_a_later_horizon_leaves_the_read_at_of_what_an_earlier_one_read(
    store: MessageStore,
) -> None:
    """The sender's "seen at" must not move: a message read by one markConversationRead (or
    markAllRead) keeps that time when the next one covers it again."""
    alice, bob = user("alice"), user("bob")
    first, second = message(bob, alice, 1), message(bob, alice, 2)
    await deliver(store, first)
    await store.mark_conversation_read(alice, bob, AT, list_limit=10)
    await deliver(store, second)
    later = AT + timedelta(minutes=5)
    again = await store.mark_conversation_read(alice, bob, later, list_limit=10)
    assert ids(again.entries) == [second.id]
    entries = await store.get_entries(alice, [first.id, second.id])
    assert (entries[first.id].read_at, entries[second.id].read_at) == (AT, later)

    third = message(bob, alice, 3)
    await deliver(store, third)
    latest = later + timedelta(minutes=5)
    await store.mark_all_read(alice, latest, list_limit=10)
    await deliver(store, message(bob, alice, 4))
    await store.mark_all_read(alice, latest + timedelta(minutes=5), list_limit=10)
    entries = await store.get_entries(alice, [first.id, second.id, third.id])
    assert [entries[m.id].read_at for m in (first, second, third)] == [AT, later, latest]
    await consistent(store, alice)
