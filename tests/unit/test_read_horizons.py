"""ReadMarkService's read horizons against the in-memory fakes: markConversationRead and
markAllRead, one store call and one change whatever they flip, what they publish to the reader
and the receipts senders get."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.change_log import InboxChange, MessagesReadChange
from services.delivery import deliver
from services.domain import ReadReceipt, UnreadCount, UserId, conversation_id
from services.errors import BadUserInput
from services.read_marks import HORIZON_RETURNED, ReadMarkService
from tests.fakes import FakeClock, FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BASE, BOB, CAROL, ids_of, make_message, seed
from tests.unit.test_read_marks import changes_to, receipts_to

# --- markConversationRead ----------------------------------------------------------------


async def test_mark_conversation_read_flips_only_that_conversation(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    from_bob = await seed(store, hub, BOB, ALICE, 3)
    from_carol = await seed(store, hub, CAROL, ALICE, 2)
    hub.published.clear()
    result = await read_marks.mark_conversation_read(ALICE, BOB)
    assert ids_of(result.entries) == [m.id for m in reversed(from_bob)]
    assert all(entry.read_at == clock.now for entry in result.entries)
    assert result.counter == UnreadCount(2, 6)
    horizon = MessagesReadChange(all_before=clock.now, with_user_id=BOB)
    assert changes_to(hub, ALICE) == [InboxChange(6, 2, horizon)]
    # BOB is told of its three, newest first; CAROL of nothing.
    assert receipts_to(hub, BOB) == [
        ReadReceipt(
            reader_id=ALICE,
            conversation_id=conversation_id(ALICE, BOB),
            message_ids=tuple(ids_of(result.entries)),
            up_to=from_bob[-1].id,
            read_at=clock.now,
        )
    ]
    assert hub.events_for(CAROL) == []
    assert not any(store.entries[ALICE][m.id].is_read for m in from_carol)


async def test_mark_conversation_read_with_nothing_unread_changes_nothing(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    await seed(store, hub, BOB, ALICE, 1)
    await read_marks.mark_conversation_read(ALICE, BOB)
    hub.published.clear()
    again = await read_marks.mark_conversation_read(ALICE, BOB)
    stranger = await read_marks.mark_conversation_read(ALICE, UserId("nobody"))
    assert again == stranger
    assert again.entries == []
    assert again.counter == UnreadCount(0, 2)
    assert hub.published == []


async def test_mark_conversation_read_of_notes_to_self_tells_no_one(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    notes = await seed(store, hub, ALICE, ALICE, 2)
    hub.published.clear()
    result = await read_marks.mark_conversation_read(ALICE, ALICE)
    assert ids_of(result.entries) == [m.id for m in reversed(notes)]
    assert result.unread_count == 0
    assert receipts_to(hub, ALICE) == []


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 129, "a b"])
async def test_mark_conversation_read_validates_with_user_id(
    read_marks: ReadMarkService, store: FakeMessageStore, bad: str
) -> None:
    with pytest.raises(BadUserInput, match="withUserId"):
        await read_marks.mark_conversation_read(ALICE, bad)
    assert store.calls["mark_conversation_read"] == 0


async def test_mark_conversation_read_answers_with_the_newest_100(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 130)
    result = await read_marks.mark_conversation_read(ALICE, BOB)
    assert ids_of(result.entries) == [m.id for m in reversed(sent)][:HORIZON_RETURNED]
    assert result.unread_count == 0
    assert all(entry.is_read for entry in store.entries[ALICE].values())
    (receipt,) = receipts_to(hub, BOB)
    assert receipt.message_ids == tuple(ids_of(result.entries))


# --- markAllRead -------------------------------------------------------------------------


async def test_read_at_returned_by_mark_all_read_is_the_stored_one(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    clock.now = BASE.replace(microsecond=123_456) + timedelta(seconds=1)
    result = await read_marks.mark_all_read(ALICE)
    stored = (await store.get_entries(ALICE, [sent.id]))[sent.id]
    assert result.entries[0].read_at == stored.read_at
    assert stored.read_at is not None
    assert stored.read_at.microsecond == 123_000


async def test_mark_all_read_is_one_change_whatever_it_flips(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    clock.now = BASE + timedelta(seconds=1)
    from_bob = await seed(store, hub, BOB, ALICE, 150)
    from_carol = [make_message(CAROL, ALICE, n) for n in (500, 501, 502)]
    for message in from_carol:
        await deliver(message, store, hub)
    (others,) = await seed(store, hub, BOB, CAROL, 1)
    hub.published.clear()
    result = await read_marks.mark_all_read(ALICE)
    # All 153 are marked; the answer holds the newest 100 of them, newest first.
    newest = sorted((m.id for m in [*from_bob, *from_carol]), reverse=True)
    assert ids_of(result.entries) == newest[:HORIZON_RETURNED]
    assert result.counter == UnreadCount(0, 154)
    assert store.calls["mark_all_read"] == 1
    assert changes_to(hub, ALICE) == [InboxChange(154, 0, MessagesReadChange(all_before=clock.now))]
    # Each sender is told of what the answer lists of its messages.
    (to_bob,) = receipts_to(hub, BOB)
    (to_carol,) = receipts_to(hub, CAROL)
    assert to_carol.message_ids == tuple(m.id for m in reversed(from_carol))
    assert len(to_bob.message_ids) == HORIZON_RETURNED - 3
    assert (await store.unread_count(CAROL)).count == 1
    assert not store.entries[CAROL][others.id].is_read


async def test_a_message_delivered_after_mark_all_read_stays_unread(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    clock.now = BASE + timedelta(seconds=1)
    await seed(store, hub, BOB, ALICE, 2)
    late = make_message(BOB, ALICE, 500)  # sent before the call, delivered after it
    await read_marks.mark_all_read(ALICE)
    await deliver(late, store, hub)
    assert (await store.unread_count(ALICE)).count == 1
    assert not store.entries[ALICE][late.id].is_read


async def test_mark_all_read_on_an_empty_inbox(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    result = await read_marks.mark_all_read(ALICE)
    assert result.entries == []
    assert result.unread_count == 0
    assert hub.published == []


async def test_mark_all_read_twice_changes_nothing_more(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    clock.now = BASE + timedelta(seconds=1)
    await seed(store, hub, BOB, ALICE, 3)
    assert len((await read_marks.mark_all_read(ALICE)).entries) == 3
    version = (await store.unread_count(ALICE)).version
    again = await read_marks.mark_all_read(ALICE)
    assert again.entries == []
    assert again.unread_count == 0
    assert (await store.unread_count(ALICE)).version == version
