"""Retention, held of `FakeMessageStore` and of `DynamoMessageStore` on DynamoDB Local alike
(docs/retention.md): a read message expires a retention after it was sent and not before it
was read; markUnread takes the expiry back; a horizon's messages get theirs from the walk after
it; an unread message never expires. Past its expiry a message is absent to every read, though
nothing has deleted it (TTL is late, and DynamoDB Local may not run it at all): "now" is the
stores' clock, moved by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.domain import Message, MessageId, UserId, new_message_id, to_millisecond, utc_now
from services.ports import MessageStore
from services.retention import Retention
from tests.conftest import new_user
from tests.contract.message_stores import dynamo_store, fake_store
from tests.fakes import FakeClock
from tests.polling import eventually

RETENTION = Retention(1)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


class Retained:
    """A store under retention, and the clock it reads "now" from."""

    def __init__(self, store: MessageStore, clock: FakeClock) -> None:
        self.store = store
        self.clock = clock
        # Messages are sent from here on: the clock starts at the real time, so that the
        # change log's own retention (7 days, from when a change was written) is not at play.
        self.start = clock.now
        self.sent = 0

    def message(self, sender: UserId, recipient: UserId, *, at: timedelta = DAY * 0) -> Message:
        self.sent += 1
        when = self.start + at + timedelta(milliseconds=self.sent)
        return Message(new_message_id(when), sender, recipient, f"m{self.sent}", when)

    async def deliver(self, *sent: Message) -> None:
        for each in sent:
            assert (await self.store.deliver(each)).stored
            await self.store.touch_sender_summary(each)

    def at(self, offset: timedelta) -> None:
        self.clock.now = self.start + offset

    async def walk(
        self, user_id: UserId, *, limit: int = 2, with_user: UserId | None = None
    ) -> int:
        """The walk after a horizon, to the end, in small steps."""
        expired, before = 0, None
        while True:
            step = await self.store.expire_read(
                user_id, before=before, limit=limit, with_user=with_user
            )
            expired += step.expired
            if step.next_before is None:
                return expired
            before = step.next_before

    async def shown(self, user_id: UserId, message_id: MessageId) -> bool:
        """Whether the message shows anywhere its recipient's or sender's reads look, checked
        to agree everywhere."""
        store = self.store
        inbox = await store.list_inbox(user_id, limit=100, before=None, unread_only=False)
        found = [
            message_id in await store.get_entries(user_id, [message_id]),
            message_id in {entry.id for entry in inbox.entries},
            message_id in await store.get_messages([message_id]),
            await store.message_parties(message_id) is not None,
        ]
        assert len(set(found)) == 1, found
        return found[0]

    async def in_conversation(self, a: UserId, b: UserId, message_id: MessageId) -> bool:
        page = await self.store.list_conversation(a, b, limit=100, before=None)
        return message_id in {entry.id for entry in page.entries}


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


@pytest.fixture(params=["fake", "dynamodb"])
async def retained(request: pytest.FixtureRequest) -> AsyncIterator[Retained]:
    clock = FakeClock(to_millisecond(utc_now()))
    if request.param == "fake":
        async with fake_store(clock=clock, retention=RETENTION) as fake:
            yield Retained(fake, clock)
        return
    async with dynamo_store(
        request.getfixturevalue("stack"),
        request.getfixturevalue("session_tag"),
        clock=clock,
        retention=RETENTION,
    ) as dynamo:
        yield Retained(dynamo, clock)


async def test_a_read_message_expires_a_retention_after_it_was_sent(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    read, unread = retained.message(bob, alice), retained.message(bob, alice)
    await retained.deliver(read, unread)
    retained.at(timedelta(minutes=1))
    await retained.store.mark_read(alice, [read.id], retained.clock.now)

    retained.at(DAY - SECOND)
    assert await retained.shown(alice, read.id)
    assert await retained.in_conversation(bob, alice, read.id)

    retained.at(DAY + SECOND)
    # Gone for both of them, wherever they look; the unread one stays, and counts are exact.
    assert not await retained.shown(alice, read.id)
    assert not await retained.in_conversation(alice, bob, read.id)
    assert not await retained.in_conversation(bob, alice, read.id)
    assert await retained.shown(alice, unread.id)
    assert (await retained.store.unread_count(alice)).count == 1
    unread_page = await retained.store.list_inbox(alice, limit=10, before=None, unread_only=True)
    assert [entry.id for entry in unread_page.entries] == [unread.id]

    # Long after, an unread message is still there.
    retained.at(DAY * 400)
    assert await retained.shown(alice, unread.id)


async def test_a_message_read_after_the_retention_expires_once_read(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    old = retained.message(bob, alice)
    await retained.deliver(old)
    retained.at(DAY * 3)
    assert await retained.shown(alice, old.id)
    marked = await retained.store.mark_read(alice, [old.id], retained.clock.now)
    assert [entry.id for entry in marked.entries] == [old.id]
    retained.at(DAY * 3 + SECOND)
    assert not await retained.shown(alice, old.id)


async def test_mark_unread_takes_the_expiry_back(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    sent = retained.message(bob, alice)
    await retained.deliver(sent)
    await retained.store.mark_read(alice, [sent.id], retained.clock.now)
    retained.at(timedelta(hours=1))
    marked = await retained.store.mark_unread(alice, [sent.id], retained.clock.now)
    assert len(marked.changes) == 1

    retained.at(DAY * 2)
    assert await retained.shown(alice, sent.id)
    (entry,) = (await retained.store.get_entries(alice, [sent.id])).values()
    assert not entry.is_read
    assert (await retained.store.unread_count(alice)).count == 1

    # Read again, it expires again: at once, being older than the retention.
    await retained.store.mark_read(alice, [sent.id], retained.clock.now)
    retained.at(DAY * 2 + SECOND)
    assert not await retained.shown(alice, sent.id)


async def test_an_expired_message_is_not_brought_back(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    sent = retained.message(bob, alice)
    await retained.deliver(sent)
    await retained.store.mark_read(alice, [sent.id], retained.clock.now)
    retained.at(DAY * 2)
    before = await retained.store.unread_count(alice)
    marked = await retained.store.mark_unread(alice, [sent.id], retained.clock.now)
    # As for an unknown id: nothing, and no change.
    assert (marked.entries, marked.changes) == ([], ())
    assert await retained.store.unread_count(alice) == before
    assert not await retained.shown(alice, sent.id)


async def test_an_expired_message_cannot_be_deleted(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    sent = retained.message(bob, alice)
    await retained.deliver(sent)
    await retained.store.mark_read(alice, [sent.id], retained.clock.now)
    retained.at(DAY * 2)
    before = await retained.store.unread_count(alice)
    # As for an unknown id: nothing deleted, nothing told.
    deletion = await retained.store.delete_message(bob, sent.id, retained.clock.now)
    assert (deletion.deleted, deletion.change) == (False, None)
    assert await retained.store.unread_count(alice) == before


@pytest.mark.parametrize("horizon", ["all", "conversation"])
async def test_a_horizon_expires_its_messages_through_the_walk(
    retained: Retained, horizon: str
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_bob = [retained.message(bob, alice) for _ in range(5)]
    from_carol = retained.message(carol, alice)
    await retained.deliver(*from_bob, from_carol)
    retained.at(timedelta(minutes=1))
    now = retained.clock.now
    if horizon == "all":
        marked = await retained.store.mark_all_read(alice, now, list_limit=100)
        read = [*from_bob, from_carol]
    else:
        marked = await retained.store.mark_conversation_read(alice, bob, now, list_limit=100)
        read = from_bob
    assert len(marked.changes) == 1
    # Delivered after the horizon (sent before it): unread, and never expires.
    late = retained.message(bob, alice)
    await retained.deliver(late)

    # The horizon wrote no message: nothing expires until the walk has run.
    retained.at(DAY * 2)
    assert all([await retained.shown(alice, m.id) for m in read])
    assert await retained.walk(alice) == len(read)
    assert not any([await retained.shown(alice, m.id) for m in read])
    assert await retained.shown(alice, late.id)
    unread = 1 if horizon == "all" else 2
    assert (await retained.store.unread_count(alice)).count == unread
    # A second walk finds nothing left to do.
    assert await retained.walk(alice) == 0


async def test_a_conversations_walk_reads_only_that_conversation(retained: Retained) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    from_carol = retained.message(carol, alice)
    await retained.deliver(from_carol)
    # Read by a horizon, its walk not run yet: owed an expiry, outside Bob's conversation.
    await retained.store.mark_all_read(alice, retained.clock.now, list_limit=10)
    from_bob = [retained.message(bob, alice) for _ in range(3)]
    to_bob = retained.message(alice, bob)
    unread_from_carol = retained.message(carol, alice)
    await retained.deliver(*from_bob, to_bob, unread_from_carol)
    await retained.store.mark_read(alice, [from_bob[0].id], retained.clock.now)
    await retained.store.mark_conversation_read(alice, bob, retained.clock.now, list_limit=10)

    # The two the horizon read: the one markRead read has its expiry already, and Bob's own
    # entry (to_bob, unread) is his, not Alice's to expire.
    assert await retained.walk(alice, with_user=bob) == 2
    retained.at(DAY * 2)
    assert not any([await retained.shown(alice, m.id) for m in from_bob])
    assert await retained.shown(bob, to_bob.id)
    assert await retained.shown(alice, from_carol.id)  # owed, but not in this conversation
    assert await retained.shown(alice, unread_from_carol.id)
    assert await retained.walk(alice) == 1  # the whole index: Carol's read one
    assert not await retained.shown(alice, from_carol.id)


async def test_the_walk_passes_over_unread_messages(retained: Retained) -> None:
    alice, bob = user("alice"), user("bob")
    unread = [retained.message(bob, alice) for _ in range(3)]
    await retained.deliver(*unread)
    assert await retained.walk(alice, limit=1) == 0
    retained.at(DAY * 5)
    assert all([await retained.shown(alice, m.id) for m in unread])


async def test_the_conversation_list_shows_the_newest_message_still_live(
    retained: Retained,
) -> None:
    alice, bob, carol, dave = user("alice"), user("bob"), user("carol"), user("dave")
    kept_unread = retained.message(bob, alice)
    to_bob = retained.message(alice, bob)
    from_bob = retained.message(bob, alice)
    from_carol = retained.message(carol, alice)
    await retained.deliver(kept_unread, to_bob, from_bob, from_carol)
    await retained.store.mark_read(bob, [to_bob.id], retained.clock.now)
    await retained.store.mark_read(alice, [from_bob.id, from_carol.id], retained.clock.now)
    retained.at(DAY * 2)
    recent = retained.message(dave, alice, at=DAY * 2)
    await retained.deliver(recent)

    async def listed() -> list[tuple[UserId, MessageId | None, MessageId | None, int]]:
        page = await retained.store.list_conversations(alice, limit=2, before=None)
        return [
            (s.other_id, s.last_message_id, page.positions.get(s.other_id), s.unread)
            for s in page.summaries
        ]

    # Carol's conversation holds nothing live: it leaves the list, and the page is filled from
    # below it. Bob's shows its one live message, and keeps its place (from_bob's).
    want = [(dave, recent.id, None, 1), (bob, kept_unread.id, from_bob.id, 1)]

    async def settled() -> bool:
        return await listed() == want

    await eventually(settled, f"alice's conversations to be {want}")
    page = await retained.store.list_conversations(alice, limit=2, before=None)
    assert not page.has_next_page
    # Bob's own list shows the same live message, which he sent.
    bobs = await retained.store.list_conversations(bob, limit=10, before=None)
    (summary,) = bobs.summaries
    assert (summary.last_message_id, summary.last_sent_by_owner) == (kept_unread.id, True)
