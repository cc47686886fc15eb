"""Typing and read receipts on the fakes: PresenceService, and the receipts InboxService sends
after markRead and markAllRead (services/presence.py, services/receipts.py)."""

from __future__ import annotations

import asyncio

import pytest

from services.domain import ReadReceipt, Typing, UserId, conversation_id
from services.errors import BadUserInput, RateLimited
from services.presence import PresenceService
from services.read_marks import ReadMarkService
from services.receipts import RECEIPT_IDS
from tests.fakes import (
    FakeClock,
    FakeEventHub,
    FakeMessageStore,
    FakeSendRateLimiter,
    FakeTypingGate,
)
from tests.unit.support import ALICE, BOB, CAROL, make_message


class Seconds:
    """The typing gate's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def gate(seconds: Seconds) -> FakeTypingGate:
    return FakeTypingGate(hold_seconds=3.0, clock=seconds)


@pytest.fixture
def typing_limiter() -> FakeSendRateLimiter:
    return FakeSendRateLimiter()


@pytest.fixture
def presence(
    gate: FakeTypingGate, hub: FakeEventHub, typing_limiter: FakeSendRateLimiter
) -> PresenceService:
    return PresenceService(gate=gate, publisher=hub, events=hub, limiter=typing_limiter)


@pytest.fixture
def inbox(store: FakeMessageStore, hub: FakeEventHub, clock: FakeClock) -> ReadMarkService:
    return ReadMarkService(store=store, publisher=hub, clock=clock)


def receipts_for(hub: FakeEventHub, user: UserId) -> list[ReadReceipt]:
    return [event for event in hub.events_for(user) if isinstance(event, ReadReceipt)]


# --- setTyping --------------------------------------------------------------------------------


async def test_typing_is_pushed_to_the_other_participant_only(
    presence: PresenceService, hub: FakeEventHub
) -> None:
    assert await presence.set_typing(ALICE, BOB) is True
    assert hub.published == [(BOB, Typing(ALICE, conversation_id(ALICE, BOB)))]


async def test_typing_is_pushed_once_per_sender_and_conversation_per_hold(
    presence: PresenceService, hub: FakeEventHub, seconds: Seconds
) -> None:
    assert await presence.set_typing(ALICE, BOB) is True
    seconds.now += 2.9
    assert await presence.set_typing(ALICE, BOB) is False
    # Another conversation, and the other direction, are gated on their own.
    assert await presence.set_typing(ALICE, CAROL) is True
    assert await presence.set_typing(BOB, ALICE) is True
    seconds.now += 0.2
    assert await presence.set_typing(ALICE, BOB) is True
    assert [user for user, _ in hub.published] == [BOB, CAROL, ALICE, BOB]


async def test_typing_over_the_limit_is_refused_and_pushes_nothing(
    presence: PresenceService,
    hub: FakeEventHub,
    typing_limiter: FakeSendRateLimiter,
    seconds: Seconds,
) -> None:
    typing_limiter.limit = 2
    assert await presence.set_typing(ALICE, BOB) is True
    assert await presence.set_typing(ALICE, BOB) is False  # throttled, but counted
    seconds.now += 10
    with pytest.raises(RateLimited):
        await presence.set_typing(ALICE, BOB)
    assert len(hub.published) == 1


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 129, "bob|2"])
async def test_a_bad_with_user_id_is_refused_before_anything_counts(
    presence: PresenceService,
    hub: FakeEventHub,
    typing_limiter: FakeSendRateLimiter,
    gate: FakeTypingGate,
    bad: str,
) -> None:
    with pytest.raises(BadUserInput, match="withUserId"):
        await presence.set_typing(ALICE, bad)
    assert not typing_limiter.sends and not gate.held_until and not hub.published


async def test_a_note_to_self_pushes_nothing_and_counts_nothing(
    presence: PresenceService,
    hub: FakeEventHub,
    typing_limiter: FakeSendRateLimiter,
    gate: FakeTypingGate,
) -> None:
    assert await presence.set_typing(ALICE, ALICE) is False
    assert not typing_limiter.sends and not gate.held_until and not hub.published


async def test_typing_without_redis_answers_false_and_never_fails(
    presence: PresenceService, hub: FakeEventHub, gate: FakeTypingGate
) -> None:
    gate.unavailable = True
    assert await presence.set_typing(ALICE, BOB) is False
    gate.unavailable = False
    hub.unavailable = True
    assert await presence.set_typing(ALICE, BOB) is False
    assert hub.published == []


# --- watching ---------------------------------------------------------------------------------


async def test_watch_typing_yields_typing_only_past_gaps_and_other_events(
    presence: PresenceService, inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    stream = presence.watch_typing(BOB)
    task = asyncio.ensure_future(anext(stream))
    await hub.wait_for_subscriber(BOB)
    hub.inject_gap(BOB)
    message = make_message(ALICE, BOB, 1)
    await store.deliver(message)
    await inbox.mark_read(BOB, [message.id])  # BOB's own change, ALICE's receipt
    await hub.publish(
        BOB,
        ReadReceipt(CAROL, conversation_id(BOB, CAROL), (message.id,), message.id, message.sent_at),
    )
    await presence.set_typing(ALICE, BOB)
    assert await asyncio.wait_for(task, 1) == Typing(ALICE, conversation_id(ALICE, BOB))
    await stream.aclose()  # type: ignore[attr-defined]
    assert hub.subscriber_count(BOB) == 0


async def test_watch_receipts_yields_receipts_only(
    presence: PresenceService, inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    stream = presence.watch_receipts(ALICE)
    task = asyncio.ensure_future(anext(stream))
    await hub.wait_for_subscriber(ALICE)
    hub.inject_gap(ALICE)
    await presence.set_typing(BOB, ALICE)
    message = make_message(ALICE, BOB, 1)
    await store.deliver(message)
    await inbox.mark_read(BOB, [message.id])
    receipt = await asyncio.wait_for(task, 1)
    assert isinstance(receipt, ReadReceipt) and receipt.message_ids == (message.id,)
    await stream.aclose()  # type: ignore[attr-defined]


# --- receipts ---------------------------------------------------------------------------------


async def test_mark_read_tells_each_sender_only_its_own_flipped_ids(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore, clock: FakeClock
) -> None:
    from_alice = [make_message(ALICE, BOB, n) for n in (1, 3)]
    from_carol = [make_message(CAROL, BOB, 2)]
    for message in (*from_alice, *from_carol):
        await store.deliver(message)
    await inbox.mark_read(BOB, [m.id for m in (*from_alice, *from_carol)])
    (to_alice,) = receipts_for(hub, ALICE)
    (to_carol,) = receipts_for(hub, CAROL)
    assert to_alice == ReadReceipt(
        reader_id=BOB,
        conversation_id=conversation_id(ALICE, BOB),
        message_ids=(from_alice[1].id, from_alice[0].id),
        up_to=from_alice[1].id,
        read_at=clock.now,
    )
    assert to_carol.message_ids == (from_carol[0].id,)
    assert to_carol.conversation_id == conversation_id(BOB, CAROL)
    assert receipts_for(hub, BOB) == []


async def test_only_flips_make_receipts(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    first, second = make_message(ALICE, BOB, 1), make_message(ALICE, BOB, 2)
    await store.deliver(first)
    await store.deliver(second)
    await inbox.mark_read(BOB, [first.id])
    await inbox.mark_read(BOB, [first.id, second.id])
    await inbox.mark_read(BOB, [first.id, second.id])  # nothing left to flip: no receipt
    assert [r.message_ids for r in receipts_for(hub, ALICE)] == [(first.id,), (second.id,)]


async def test_a_note_to_self_sends_no_receipt(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    note = make_message(BOB, BOB, 1)
    await store.deliver(note)
    await inbox.mark_read(BOB, [note.id])
    assert not any(isinstance(event, ReadReceipt) for _, event in hub.published)


async def test_mark_all_read_tells_each_sender_its_newest_ids(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    # More than a receipt's worth (100) from ALICE: the answer's newest 100 are CAROL's three
    # and ALICE's 97 newest, and each sender hears of its own among them.
    from_alice = [make_message(ALICE, BOB, n) for n in range(250)]
    from_carol = [make_message(CAROL, BOB, 1000 + n) for n in range(3)]
    for message in (*from_alice, *from_carol):
        await store.deliver(message)
    await inbox.mark_all_read(BOB)
    (to_alice,) = receipts_for(hub, ALICE)
    newest = [m.id for m in reversed(from_alice)][: RECEIPT_IDS - 3]
    assert list(to_alice.message_ids) == newest
    assert to_alice.up_to == from_alice[-1].id
    (to_carol,) = receipts_for(hub, CAROL)
    assert set(to_carol.message_ids) == {m.id for m in from_carol}


async def test_mark_conversation_read_tells_only_that_sender(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    from_alice = [make_message(ALICE, BOB, n) for n in range(3)]
    from_carol = make_message(CAROL, BOB, 10)
    for message in (*from_alice, from_carol):
        await store.deliver(message)
    await inbox.mark_conversation_read(BOB, ALICE)
    (to_alice,) = receipts_for(hub, ALICE)
    assert to_alice.message_ids == tuple(m.id for m in reversed(from_alice))
    assert to_alice.conversation_id == conversation_id(ALICE, BOB)
    assert receipts_for(hub, CAROL) == []


async def test_mark_unread_tells_no_sender(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    message = make_message(ALICE, BOB, 1)
    await store.deliver(message)
    await inbox.mark_read(BOB, [message.id])
    hub.published.clear()
    await inbox.mark_unread(BOB, [message.id])
    assert receipts_for(hub, ALICE) == []


async def test_a_failed_receipt_publish_does_not_fail_the_read(
    inbox: ReadMarkService, hub: FakeEventHub, store: FakeMessageStore
) -> None:
    message = make_message(ALICE, BOB, 1)
    await store.deliver(message)
    hub.unavailable = True
    result = await inbox.mark_read(BOB, [message.id])
    assert result.unread_count == 0 and [e.id for e in result.entries] == [message.id]
