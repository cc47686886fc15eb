"""What every message store promises, held of `FakeMessageStore` and of `DynamoMessageStore` on
DynamoDB Local alike (the `store` fixture runs each case on both): delivery all or nothing and
at most once, an unread counter that moves exactly and a version that moves on every change,
markRead of the user's own messages once each, newest-first listings that page without gaps or
repeats, idempotency keys that free up once expired, and times kept to the millisecond.

The cases share one DynamoDB table per session; each uses fresh users and fresh ids. Where the
two stores disagree, the case stays and the side that differs is marked xfail (strict)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.change_log import MessagesReadChange
from services.domain import (
    InboxEntry,
    Message,
    MessageId,
    UnreadCount,
    UserId,
    new_message_id,
    to_millisecond,
)
from services.ports import MessageStore
from tests.conftest import new_user
from tests.fakes import FakeStoreError

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EXPIRES = BASE + timedelta(hours=24)
NO_COUNT = UnreadCount(0, 0)


def differs_on(side: str, reason: str, raises: type[Exception]) -> pytest.MarkDecorator:
    """Run the case on both stores, expecting it to fail (strictly, with `raises`) on `side`
    only."""
    return pytest.mark.parametrize(
        "store",
        [
            pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reason, raises=raises))
            if name == side
            else name
            for name in ("fake", "dynamodb")
        ],
        indirect=True,
    )


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


def message(
    sender: UserId, recipient: UserId, n: int, body: str = "hello", *, base: datetime = BASE
) -> Message:
    """Sent `n` milliseconds after `base` (whole milliseconds, so it reads back equal)."""
    at = base + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"{body} {n}", at)


def ids(entries: list[InboxEntry]) -> list[MessageId]:
    return [entry.id for entry in entries]


async def deliver_all(store: MessageStore, messages: list[Message]) -> None:
    for sent in messages:
        assert (await store.deliver(sent)).stored is True


async def whole_inbox(store: MessageStore, user_id: UserId) -> list[InboxEntry]:
    page = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
    assert not page.has_next_page
    return page.entries


async def state_of(
    store: MessageStore, user_id: UserId
) -> tuple[UnreadCount, list[InboxEntry], list[MessageId]]:
    """Everything the port shows of one user's inbox: counter, entries, unread ids."""
    unread = await store.list_inbox(user_id, limit=100, before=None, unread_only=True)
    return (
        await store.unread_count(user_id),
        await whole_inbox(store, user_id),
        [entry.id for entry in unread.entries],
    )


def read(entry: InboxEntry, at: datetime) -> InboxEntry:
    return InboxEntry(entry.id, entry.sender_id, entry.recipient_id, entry.sent_at, at)


# --- deliver ------------------------------------------------------------------------------


async def test_a_delivery_stores_the_message_its_entry_and_one_unread(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    assert await store.unread_count(alice) == NO_COUNT
    assert (await store.deliver(sent)).stored is True
    assert await store.get_messages([sent.id]) == {sent.id: sent}
    assert await store.get_entries(alice, [sent.id]) == {sent.id: InboxEntry.unread(sent)}
    assert await state_of(store, alice) == (UnreadCount(1, 1), [InboxEntry.unread(sent)], [sent.id])
    # The sender's side is untouched: no entry, no counter.
    assert await state_of(store, bob) == (NO_COUNT, [], [])


async def test_a_second_delivery_returns_false_and_changes_nothing(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    assert (await store.deliver(sent)).stored is True
    before = await state_of(store, alice)
    assert (await store.deliver(sent)).stored is False
    # Same id, another body: still the first delivery's message.
    rewritten = Message(sent.id, sent.sender_id, sent.recipient_id, "changed", sent.sent_at)
    assert (await store.deliver(rewritten)).stored is False
    assert await state_of(store, alice) == before
    assert before[0] == UnreadCount(1, 1)
    assert await store.get_messages([sent.id]) == {sent.id: sent}


async def test_a_repeated_id_to_another_recipient_changes_nothing_for_either(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    sent = message(bob, alice, 1)
    assert (await store.deliver(sent)).stored is True
    before = await state_of(store, alice)
    elsewhere = Message(sent.id, bob, carol, "to carol", sent.sent_at)
    assert (await store.deliver(elsewhere)).stored is False
    # All or nothing: no entry or count for Carol, and the message is still Alice's.
    assert await state_of(store, carol) == (NO_COUNT, [], [])
    assert await store.get_entries(carol, [sent.id]) == {}
    assert await state_of(store, alice) == before
    assert await store.get_messages([sent.id]) == {sent.id: sent}


async def test_concurrent_duplicate_deliveries_count_once(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    results = await asyncio.gather(*(store.deliver(sent) for _ in range(5)))
    assert sorted(r.stored for r in results) == [False, False, False, False, True]
    assert await state_of(store, alice) == (UnreadCount(1, 1), [InboxEntry.unread(sent)], [sent.id])


# --- the unread counter -------------------------------------------------------------------


async def test_the_counter_moves_exactly_and_its_version_on_every_change(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    sent = [message(bob, alice, n) for n in range(4)]
    for k, one in enumerate(sent, start=1):
        assert (await store.deliver(one)).stored is True
        assert await store.unread_count(alice) == UnreadCount(k, k)
    to_carol = message(bob, carol, 9)
    assert (await store.deliver(to_carol)).stored is True
    assert await store.unread_count(alice) == UnreadCount(4, 4), "another user's delivery"

    await store.mark_read(alice, [sent[0].id, sent[2].id], BASE)
    after_two = await store.unread_count(alice)
    assert after_two.count == 2
    assert after_two.version > 4

    # Nothing to change, so nothing changes: already read, another user's, unknown.
    unknown = message(bob, alice, 99).id
    await store.mark_read(alice, [sent[2].id, sent[0].id], BASE + timedelta(seconds=1))
    await store.mark_read(alice, [to_carol.id, unknown], BASE)
    assert await store.unread_count(alice) == after_two

    await store.mark_read(alice, [sent[1].id, sent[3].id], BASE)
    done = await store.unread_count(alice)
    assert done.count == 0
    assert done.version > after_two.version
    assert await store.unread_count(carol) == UnreadCount(1, 1)


async def test_concurrent_marks_of_one_message_count_it_once(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(6)]
    await deliver_all(store, sent)
    wanted = [one.id for one in sent[:4]]
    results = await asyncio.gather(
        *(store.mark_read(alice, wanted[k:] + wanted[:k], BASE) for k in range(4))
    )
    for k, marked in enumerate(results):
        assert ids(marked.entries) == wanted[k:] + wanted[:k]
        assert all(entry.is_read for entry in marked.entries)
    assert (await store.unread_count(alice)).count == 2
    # Between them the calls flipped each message once, and logged each flip once.
    flipped = [
        i
        for r in results
        for c in r.changes
        if isinstance(c.payload, MessagesReadChange)
        for i in c.payload.message_ids
    ]
    assert sorted(flipped) == sorted(wanted)
    unread = await store.list_inbox(alice, limit=10, before=None, unread_only=True)
    assert [entry.id for entry in unread.entries] == [sent[5].id, sent[4].id]


# --- mark_read ----------------------------------------------------------------------------


async def test_mark_read_returns_the_users_own_messages_in_the_order_asked(
    store: MessageStore,
) -> None:
    alice, bob, eve = user("alice"), user("bob"), user("eve")
    sent = [message(bob, alice, n) for n in range(4)]
    to_eve = message(bob, eve, 10)
    await deliver_all(store, [*sent, to_eve])
    earlier = BASE + timedelta(minutes=1)
    later = BASE + timedelta(minutes=2)
    (first,) = (await store.mark_read(alice, [sent[1].id], earlier)).entries

    unknown = message(bob, alice, 99).id
    asked = [sent[3].id, to_eve.id, sent[0].id, unknown, sent[1].id]
    marked = (await store.mark_read(alice, asked, later)).entries
    # The ids asked for that are Alice's, in the order asked; the one read before keeps its time.
    assert marked == [
        read(InboxEntry.unread(sent[3]), later),
        read(InboxEntry.unread(sent[0]), later),
        read(InboxEntry.unread(sent[1]), earlier),
    ]
    assert first == read(InboxEntry.unread(sent[1]), earlier)
    assert (await store.unread_count(alice)).count == 1
    # Eve's message is untouched, in her inbox and her count.
    assert await state_of(store, eve) == (
        UnreadCount(1, 1),
        [InboxEntry.unread(to_eve)],
        [to_eve.id],
    )


async def test_mark_read_of_nothing_of_the_users_returns_nothing(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    to_bob = message(alice, bob, 1)
    await deliver_all(store, [to_bob, message(bob, alice, 2)])
    before = await state_of(store, alice)
    # The sender cannot mark what she sent: it is an entry of Bob's inbox, not hers.
    assert (
        await store.mark_read(alice, [to_bob.id, message(bob, alice, 3).id], BASE)
    ).entries == []
    assert await state_of(store, alice) == before
    assert await state_of(store, bob) == (
        UnreadCount(1, 1),
        [InboxEntry.unread(to_bob)],
        [to_bob.id],
    )


async def test_a_second_mark_keeps_the_first_read_at(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    await deliver_all(store, [sent])
    first_at = BASE + timedelta(minutes=5)
    assert (await store.mark_read(alice, [sent.id], first_at)).entries == [
        read(InboxEntry.unread(sent), first_at)
    ]
    counted = await store.unread_count(alice)
    again = (await store.mark_read(alice, [sent.id], first_at + timedelta(hours=1))).entries
    assert again == [read(InboxEntry.unread(sent), first_at)]
    assert await store.get_entries(alice, [sent.id]) == {
        sent.id: read(InboxEntry.unread(sent), first_at)
    }
    assert await store.unread_count(alice) == counted == UnreadCount(0, 2)


# --- list_inbox ---------------------------------------------------------------------------


async def test_the_inbox_lists_newest_first_whatever_the_delivery_order(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    sent = [message(bob, alice, 1), message(carol, alice, 2), message(bob, alice, 3)]
    await deliver_all(store, [sent[2], sent[0], sent[1], message(alice, bob, 4)])
    page = await store.list_inbox(alice, limit=10, before=None, unread_only=False)
    assert page.entries == [InboxEntry.unread(one) for one in reversed(sent)]
    assert page.has_next_page is False


@pytest.mark.parametrize("total", [6, 7])
async def test_inbox_pages_have_no_gaps_or_repeats(store: MessageStore, total: int) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(total)]
    await deliver_all(store, sent)
    seen: list[MessageId] = []
    sizes: list[int] = []
    before: MessageId | None = None
    while True:
        page = await store.list_inbox(alice, limit=3, before=before, unread_only=False)
        sizes.append(len(page.entries))
        seen.extend(ids(page.entries))
        if not page.has_next_page:
            break
        before = page.entries[-1].id
    assert seen == [one.id for one in reversed(sent)]
    # A last page that is exactly full says there is no next page.
    assert sizes == ([3, 3] if total == 6 else [3, 3, 1])


async def test_before_lists_strictly_older_even_for_an_id_not_in_the_inbox(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n * 10) for n in range(4)]
    await deliver_all(store, sent)
    page = await store.list_inbox(alice, limit=10, before=sent[2].id, unread_only=False)
    assert ids(page.entries) == [sent[1].id, sent[0].id]
    between = message(bob, alice, 25).id  # never delivered: between sent[2] and sent[3]
    page = await store.list_inbox(alice, limit=10, before=between, unread_only=False)
    assert ids(page.entries) == [sent[2].id, sent[1].id, sent[0].id]
    page = await store.list_inbox(alice, limit=10, before=sent[0].id, unread_only=False)
    assert page.entries == []
    assert page.has_next_page is False


async def test_unread_only_lists_only_unread_and_pages_over_them(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, n) for n in range(7)]
    await deliver_all(store, sent)
    await store.mark_read(alice, [sent[1].id, sent[4].id, sent[6].id], BASE)
    unread = [sent[5], sent[3], sent[2], sent[0]]

    seen: list[InboxEntry] = []
    before: MessageId | None = None
    while True:
        page = await store.list_inbox(alice, limit=2, before=before, unread_only=True)
        seen.extend(page.entries)
        if not page.has_next_page:
            break
        before = page.entries[-1].id
    assert seen == [InboxEntry.unread(one) for one in unread]
    # Paging from a read message's id works as from any other.
    page = await store.list_inbox(alice, limit=10, before=sent[4].id, unread_only=True)
    assert ids(page.entries) == [sent[3].id, sent[2].id, sent[0].id]
    everything = await whole_inbox(store, alice)
    assert [entry.is_read for entry in everything] == [True, False, True, False, False, True, False]


# --- list_conversation --------------------------------------------------------------------


async def test_a_conversation_holds_both_directions_and_nothing_of_third_parties(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    a_to_b, b_to_a, c_to_a, a_to_c, b_to_c, b_to_a_again, a_to_a = (
        message(alice, bob, 1),
        message(bob, alice, 2),
        message(carol, alice, 3),
        message(alice, carol, 4),
        message(bob, carol, 5),
        message(bob, alice, 6),
        message(alice, alice, 7),
    )
    await deliver_all(store, [a_to_b, b_to_a, c_to_a, a_to_c, b_to_c, b_to_a_again, a_to_a])
    expected = [InboxEntry.unread(one) for one in (b_to_a_again, b_to_a, a_to_b)]
    for me, other in ((alice, bob), (bob, alice)):
        page = await store.list_conversation(me, other, limit=10, before=None)
        assert page.entries == expected
        assert page.has_next_page is False

    first = await store.list_conversation(alice, bob, limit=2, before=None)
    assert first.entries == expected[:2]
    assert first.has_next_page is True
    rest = await store.list_conversation(bob, alice, limit=2, before=first.entries[-1].id)
    assert rest.entries == expected[2:]
    assert rest.has_next_page is False

    alone = await store.list_conversation(alice, alice, limit=10, before=None)
    assert alone.entries == [InboxEntry.unread(a_to_a)]


# --- get_messages / get_entries -----------------------------------------------------------


async def test_reads_return_only_what_exists_and_only_the_users_own_entries(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    to_alice, to_bob = message(bob, alice, 1), message(alice, bob, 2)
    await deliver_all(store, [to_alice, to_bob])
    unknown = message(bob, alice, 3).id
    assert await store.get_messages([to_alice.id, unknown, to_bob.id]) == {
        to_alice.id: to_alice,
        to_bob.id: to_bob,
    }
    assert await store.get_messages([unknown]) == {}
    assert await store.get_entries(alice, [to_alice.id, unknown, to_bob.id]) == {
        to_alice.id: InboxEntry.unread(to_alice)
    }
    assert await store.get_entries(bob, [to_alice.id]) == {}
    assert await store.get_entries(user("eve"), [to_alice.id, to_bob.id]) == {}
    await store.mark_read(alice, [to_alice.id], BASE)
    assert await store.get_entries(alice, [to_alice.id]) == {
        to_alice.id: read(InboxEntry.unread(to_alice), BASE)
    }


async def test_message_parties_name_sender_and_recipient_of_stored_messages_only(
    store: MessageStore,
) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    await deliver_all(store, [sent])
    assert await store.message_parties(sent.id) == (bob, alice)
    assert await store.message_parties(message(bob, alice, 2).id) is None


REPEATS_REFUSED = (
    "FakeMessageStore refuses a repeated id (FakeStoreError, 'like BatchGetItem'), while "
    "DynamoMessageStore de-duplicates the ids before its BatchGetItem"
)


@differs_on("fake", REPEATS_REFUSED, FakeStoreError)
async def test_a_repeated_id_is_read_once(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = message(bob, alice, 1)
    await deliver_all(store, [sent])
    assert await store.get_messages([sent.id, sent.id]) == {sent.id: sent}
    assert await store.get_entries(alice, [sent.id, sent.id]) == {sent.id: InboxEntry.unread(sent)}


@differs_on("fake", REPEATS_REFUSED, FakeStoreError)
async def test_a_repeated_id_is_marked_read_once(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent = [message(bob, alice, 1), message(bob, alice, 2)]
    await deliver_all(store, sent)
    marked = (await store.mark_read(alice, [sent[0].id, sent[0].id], BASE)).entries
    assert {entry.id for entry in marked} == {sent[0].id}
    assert all(entry == read(InboxEntry.unread(sent[0]), BASE) for entry in marked)
    assert (await store.unread_count(alice)).count == 1


# --- reserve_client_message_id ------------------------------------------------------------


async def test_a_repeat_of_a_client_message_id_gets_the_first_claimants_message(
    store: MessageStore,
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    first, second = message(bob, alice, 1, "first"), message(bob, alice, 2, "second")
    assert await store.reserve_client_message_id(first, "key-1", EXPIRES) == first
    assert await store.reserve_client_message_id(second, "key-1", EXPIRES) == first
    assert await store.reserve_client_message_id(second, "key-1", EXPIRES) == first
    # The key is the sender's: another sender, or another key, claims afresh.
    carols = message(carol, alice, 3)
    assert await store.reserve_client_message_id(carols, "key-1", EXPIRES) == carols
    assert await store.reserve_client_message_id(second, "key-2", EXPIRES) == second
    # A reservation is not a delivery.
    assert await store.get_messages([first.id, second.id]) == {}
    assert await store.unread_count(alice) == NO_COUNT


async def test_a_client_message_id_is_free_again_after_it_expires(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    first = message(bob, alice, 0, "first")
    assert await store.reserve_client_message_id(first, "key", EXPIRES) == first
    # Both check expiry against the claimant's sentAt, in whole seconds: at EXPIRES it holds.
    at_expiry = message(bob, alice, 0, "at expiry", base=EXPIRES)
    assert await store.reserve_client_message_id(at_expiry, "key", EXPIRES) == first
    late = message(bob, alice, 0, "late", base=EXPIRES + timedelta(seconds=1))
    late_expires = late.sent_at + timedelta(hours=24)
    assert await store.reserve_client_message_id(late, "key", late_expires) == late
    # The fresh claim holds in its turn.
    later = message(bob, alice, 0, "later", base=EXPIRES + timedelta(seconds=2))
    assert await store.reserve_client_message_id(later, "key", late_expires) == late


# --- milliseconds -------------------------------------------------------------------------


async def test_stored_times_are_cut_to_milliseconds(store: MessageStore) -> None:
    alice, bob = user("alice"), user("bob")
    sent_at = BASE + timedelta(microseconds=123_456)
    sent = Message(new_message_id(sent_at), bob, alice, "precise", sent_at)
    kept = Message(sent.id, bob, alice, "precise", BASE + timedelta(microseconds=123_000))
    assert (await store.deliver(sent)).stored is True
    assert await store.get_messages([sent.id]) == {sent.id: kept}
    assert await store.get_entries(alice, [sent.id]) == {sent.id: InboxEntry.unread(kept)}
    assert await whole_inbox(store, alice) == [InboxEntry.unread(kept)]
    conversation = await store.list_conversation(alice, bob, limit=10, before=None)
    assert conversation.entries == [InboxEntry.unread(kept)]

    read_at = BASE + timedelta(minutes=1, microseconds=654_321)
    (marked,) = (await store.mark_read(alice, [sent.id], read_at)).entries
    assert marked.sent_at == kept.sent_at
    # What mark_read hands back for an entry it flipped is not what it stored (both stores
    # return `read_at` as given), but it agrees with it to the millisecond.
    assert marked.read_at is not None
    assert to_millisecond(marked.read_at) == to_millisecond(read_at)
    stored = read(InboxEntry.unread(kept), BASE + timedelta(minutes=1, microseconds=654_000))
    assert await store.get_entries(alice, [sent.id]) == {sent.id: stored}
    assert (await store.mark_read(alice, [sent.id], read_at)).entries == [stored]

    claimed_at = EXPIRES + timedelta(microseconds=1_999)
    claim = Message(new_message_id(claimed_at), bob, alice, "claim", claimed_at)
    assert await store.reserve_client_message_id(claim, "key", EXPIRES) == claim
    repeat = message(bob, alice, 5, base=EXPIRES)
    held = await store.reserve_client_message_id(repeat, "key", EXPIRES)
    assert held == Message(claim.id, bob, alice, "claim", EXPIRES + timedelta(microseconds=1_000))
