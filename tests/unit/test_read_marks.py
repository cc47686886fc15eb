"""ReadMarkService's per-message marks against the in-memory fakes: markRead and markUnread,
their validation, what they publish to the reader, and the receipts senders get
(tests/unit/test_read_horizons.py: the horizons; tests/unit/test_presence.py follows receipts
through the subscription)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.change_log import (
    InboxChange,
    LiveChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import (
    ReadReceipt,
    UnreadCount,
    UserId,
    new_message_id,
)
from services.errors import BadUserInput
from services.read_marks import ReadMarkService
from tests.fakes import FakeClock, FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BASE, BOB, CAROL, ids_of, seed


def receipts_to(hub: FakeEventHub, user_id: UserId) -> list[ReadReceipt]:
    return [e for e in hub.events_for(user_id) if isinstance(e, ReadReceipt)]


def changes_to(hub: FakeEventHub, user_id: UserId) -> list[InboxChange]:
    return [e.change for e in hub.events_for(user_id) if isinstance(e, LiveChange)]


# --- markRead --------------------------------------------------------------


async def test_mark_read_rejects_more_than_100_ids(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    with pytest.raises(BadUserInput, match="ids"):
        await read_marks.mark_read(ALICE, [str(new_message_id(BASE)) for _ in range(101)])
    assert store.calls["mark_read"] == 0
    assert hub.published == []


async def test_mark_read_accepts_100_ids(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 120)
    result = await read_marks.mark_read(ALICE, [m.id for m in sent[:100]])
    assert ids_of(result.entries) == [m.id for m in sent[:100]]
    assert all(e.is_read for e in result.entries)
    assert result.unread_count == 20


async def test_mark_read_counts_exactly_and_is_idempotent(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 5)
    chosen = [sent[3].id, sent[1].id]
    first = await read_marks.mark_read(ALICE, chosen)
    assert ids_of(first.entries) == chosen
    assert all(e.read_at == clock.now for e in first.entries)
    assert first.unread_count == 3
    version = (await store.unread_count(ALICE)).version
    clock.advance(timedelta(minutes=5))
    again = await read_marks.mark_read(ALICE, chosen)
    assert again.entries == first.entries  # readAt kept from the first call
    assert again.unread_count == 3
    assert (await store.unread_count(ALICE)).version == version
    # One more, mixed with those already read: only the new one counts.
    third = await read_marks.mark_read(ALICE, [*chosen, sent[0].id])
    assert third.unread_count == 2
    assert [e.read_at for e in third.entries] == [BASE, BASE, clock.now]


async def test_mark_read_ignores_others_unknown_and_malformed_ids(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    (mine,) = await seed(store, hub, BOB, ALICE, 1)
    (carols,) = await seed(store, hub, BOB, CAROL, 1)
    (sent_by_me,) = await seed(store, hub, ALICE, BOB, 1)
    result = await read_marks.mark_read(
        ALICE, ["garbage", "", carols.id, str(new_message_id(BASE)), mine.id, sent_by_me.id]
    )
    assert ids_of(result.entries) == [mine.id]
    assert result.unread_count == 0
    assert (await store.unread_count(CAROL)).count == 1
    assert (await store.unread_count(BOB)).count == 1
    assert not store.entries[CAROL][carols.id].is_read
    assert not store.entries[BOB][sent_by_me.id].is_read


async def test_mark_read_with_duplicate_ids_counts_once(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 2)
    result = await read_marks.mark_read(ALICE, [sent[0].id, sent[0].id, sent[0].id])
    assert ids_of(result.entries) == [sent[0].id]
    assert result.unread_count == 1


async def test_mark_read_with_nothing_valid_skips_the_store(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    await seed(store, hub, BOB, ALICE, 2)
    result = await read_marks.mark_read(ALICE, ["nope"])
    assert result.entries == []
    assert result.unread_count == 2
    assert store.calls["mark_read"] == 0


async def test_mark_read_publishes_the_change_with_the_count(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 3)
    hub.published.clear()
    result = await read_marks.mark_read(ALICE, [sent[0].id])
    count = await store.unread_count(ALICE)
    assert count == UnreadCount(2, 4) == result.counter
    change = InboxChange(4, 2, MessagesReadChange((sent[0].id,)))
    assert hub.events_for(ALICE) == [LiveChange(change)]
    assert store.logs[ALICE][4][0] == change


async def test_mark_read_of_nothing_unread_publishes_nothing(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 1)
    await read_marks.mark_read(ALICE, [sent[0].id])
    hub.published.clear()
    result = await read_marks.mark_read(ALICE, [sent[0].id])
    assert result.counter == UnreadCount(0, 2)
    assert hub.published == []


async def test_mark_read_survives_a_publisher_outage(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 3)
    hub.unavailable = True
    result = await read_marks.mark_read(ALICE, [sent[0].id])
    assert result.unread_count == 2
    assert store.entries[ALICE][sent[0].id].is_read


async def test_read_at_returned_by_mark_read_is_the_stored_one(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock
) -> None:
    (sent,) = await seed(store, hub, BOB, ALICE, 1)
    clock.now = BASE.replace(microsecond=123_456)
    result = await read_marks.mark_read(ALICE, [sent.id])
    stored = (await store.get_entries(ALICE, [sent.id]))[sent.id]
    # Shown to the millisecond, as stored (and like sentAt).
    assert result.entries[0].read_at == stored.read_at == BASE.replace(microsecond=123_000)


# --- markUnread --------------------------------------------------------------------------


async def test_mark_unread_rejects_more_than_100_ids(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    with pytest.raises(BadUserInput, match="ids"):
        await read_marks.mark_unread(ALICE, [str(new_message_id(BASE)) for _ in range(101)])
    assert store.calls["mark_unread"] == 0
    assert hub.published == []


async def test_mark_unread_mirrors_mark_read_and_is_idempotent(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 4)
    await read_marks.mark_read(ALICE, [m.id for m in sent])
    hub.published.clear()
    chosen = [sent[2].id, sent[0].id]
    first = await read_marks.mark_unread(ALICE, [*chosen, "garbage", sent[2].id])
    assert ids_of(first.entries) == chosen
    assert not any(entry.is_read for entry in first.entries)
    assert first.counter == UnreadCount(2, 6)
    # The reader's devices hear of it; the sender is told nothing.
    assert changes_to(hub, ALICE) == [InboxChange(6, 2, MessagesUnreadChange(tuple(chosen)))]
    assert hub.events_for(BOB) == []
    again = await read_marks.mark_unread(ALICE, chosen)
    assert again == first
    assert len(hub.published) == 1


async def test_mark_unread_ignores_others_unknown_and_unread_ids(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    (mine,) = await seed(store, hub, BOB, ALICE, 1)
    (carols,) = await seed(store, hub, BOB, CAROL, 1)
    await read_marks.mark_read(CAROL, [carols.id])
    hub.published.clear()
    result = await read_marks.mark_unread(ALICE, [carols.id, mine.id, str(new_message_id(BASE))])
    assert ids_of(result.entries) == [mine.id]  # still unread: nothing flipped
    assert result.counter == UnreadCount(1, 1)
    assert (await store.unread_count(CAROL)).count == 0
    assert hub.published == []


async def test_mark_unread_with_nothing_valid_skips_the_store(
    read_marks: ReadMarkService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    await seed(store, hub, BOB, ALICE, 2)
    result = await read_marks.mark_unread(ALICE, ["nope", ""])
    assert result.entries == []
    assert result.unread_count == 2
    assert store.calls["mark_unread"] == 0
