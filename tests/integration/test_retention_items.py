"""Retention on DynamoDB Local, read below the store: the `expiresAt` each write sets or removes
on the entry and the message item, the `unread` index the walk reads, the transactions' size,
and the write units a mark and a walked message cost (bench.metered_clients bills each
transaction's items as AWS does). DynamoDB Local may not run TTL at all, so nothing here waits
for a deletion: the attributes are what TTL acts on, and the reads' handling of them is held
by tests/contract/test_retention_contract.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bench.meter import Meter
from bench.metered_clients import MeteredDynamoDB
from services.app import App
from services.domain import Message, MessageId, UserId, new_message_id, to_millisecond, utc_now
from services.dynamodb.keys import Item, entry_key, message_key
from services.dynamodb.store import DynamoMessageStore
from services.retention import Retention
from tests.conftest import new_user
from tests.fakes import FakeClock

RETENTION = Retention(3)
DAY = timedelta(days=1)


@dataclass
class Table:
    client: Any
    name: str
    clock: FakeClock

    def store(
        self, retention: Retention | None = RETENTION, client: Any = None
    ) -> DynamoMessageStore:
        return DynamoMessageStore(
            client or self.client, self.name, clock=self.clock, retention=retention
        )

    async def item(self, key: Item) -> Item:
        response = await self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        found: Item = response["Item"]
        return found

    async def expiry(self, user_id: UserId, message_id: MessageId) -> tuple[Any, Any, bool]:
        """(the entry's expiresAt, the message item's, whether the entry is in the index)."""
        entry = await self.item(entry_key(user_id, message_id))
        stored = await self.item(message_key(message_id))
        return (
            _number(entry.get("expiresAt")),
            _number(stored.get("expiresAt")),
            "unreadSk" in entry,
        )


def _number(value: Item | None) -> int | None:
    return None if value is None else int(value["N"])


@pytest.fixture
async def table(app: App) -> AsyncIterator[Table]:
    yield Table(app.clients.dynamodb, app.settings.table_name, FakeClock(to_millisecond(utc_now())))


def sent(table: Table, sender: UserId, recipient: UserId, n: int) -> Message:
    at = table.clock.now + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"body {n}", at)


async def deliver(store: DynamoMessageStore, *messages: Message) -> None:
    for message in messages:
        assert (await store.deliver(message)).stored
        await store.touch_sender_summary(message)


def user(prefix: str) -> UserId:
    return UserId(new_user(prefix))


async def test_mark_read_sets_the_expiry_on_both_items_and_mark_unread_removes_it(
    table: Table,
) -> None:
    alice, bob = user("alice"), user("bob")
    store = table.store()
    early, late = sent(table, bob, alice, 1), sent(table, bob, alice, 2)
    await deliver(store, early, late)
    assert await table.expiry(alice, early.id) == (None, None, True)

    read_at = table.clock.now + timedelta(hours=1)
    await store.mark_read(alice, [early.id], read_at)
    expected = int((early.sent_at + RETENTION.period).timestamp()) + 1
    # Both items, the same second; the entry has left the unread index.
    assert await table.expiry(alice, early.id) == (expected, expected, False)
    # Read after the retention: it expires when it was read.
    read_late = late.sent_at + 5 * DAY
    await store.mark_read(alice, [late.id], read_late)
    late_expiry = RETENTION.expires_at(late.sent_at, read_late)
    assert late_expiry == int(read_late.timestamp()) + 1
    assert await table.expiry(alice, late.id) == (late_expiry, late_expiry, False)

    await store.mark_unread(alice, [early.id, late.id], read_late)
    for message in (early, late):
        assert await table.expiry(alice, message.id) == (None, None, True)


async def test_without_retention_no_expiry_is_written_but_one_is_removed(table: Table) -> None:
    alice, bob = user("alice"), user("bob")
    kept, was_retained = sent(table, bob, alice, 1), sent(table, bob, alice, 2)
    await deliver(table.store(None), kept, was_retained)
    await table.store(None).mark_read(alice, [kept.id], table.clock.now)
    # The mark lives in the summary: the entry is not written, and nothing expires.
    assert await table.expiry(alice, kept.id) == (None, None, True)
    # Read while retention was on, then turned off: marking it unread still ends its expiry,
    # or TTL would delete an unread message.
    await table.store().mark_read(alice, [was_retained.id], table.clock.now)
    await table.store(None).mark_unread(alice, [was_retained.id], table.clock.now)
    assert await table.expiry(alice, was_retained.id) == (None, None, True)


async def test_the_walk_after_a_horizon_sets_what_the_horizon_did_not(table: Table) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    store = table.store()
    read = [sent(table, bob, alice, n) for n in range(5)] + [sent(table, carol, alice, 9)]
    await deliver(store, *read)
    horizon = table.clock.now + timedelta(minutes=1)
    await store.mark_all_read(alice, horizon, list_limit=100)
    late = sent(table, bob, alice, 20)
    await deliver(store, late)
    # The horizon wrote no entry and no message.
    for message in read:
        assert await table.expiry(alice, message.id) == (None, None, True)

    steps, expired, before = 0, 0, None
    while True:
        step = await store.expire_read(alice, before=before, limit=2)
        steps, expired, before = steps + 1, expired + step.expired, step.next_before
        if before is None:
            break
    assert expired == len(read)
    assert steps >= 3  # in steps of 2, never more
    for message in read:
        expected = RETENTION.expires_at(message.sent_at, horizon)
        assert await table.expiry(alice, message.id) == (expected, expected, False)
    # Unread (delivered after the horizon): passed over, still in the index.
    assert await table.expiry(alice, late.id) == (None, None, True)


async def test_an_unread_page_cleaning_the_index_sets_the_expiry_too(table: Table) -> None:
    alice, bob = user("alice"), user("bob")
    store = table.store()
    messages = [sent(table, bob, alice, n) for n in range(24)]
    await deliver(store, *messages)
    await store.mark_all_read(alice, table.clock.now, list_limit=1)
    # Unread again, the oldest lowers the floor: an unread page reads every entry above it,
    # skips the 23 read ones, and takes them out of the index (a lazy clean).
    await store.mark_unread(alice, [messages[0].id], table.clock.now)
    page = await store.list_inbox(alice, limit=10, before=None, unread_only=True)
    assert [entry.id for entry in page.entries] == [messages[0].id]
    for message in messages[1:]:
        expected = RETENTION.expires_at(message.sent_at, table.clock.now)
        assert await table.expiry(alice, message.id) == (expected, expected, False)
    assert await table.expiry(alice, messages[0].id) == (None, None, True)


async def test_a_hundred_marks_fit_their_transactions(table: Table) -> None:
    alice, bob = user("alice"), user("bob")
    store = table.store()
    messages = [sent(table, bob, alice, n) for n in range(100)]
    await deliver(store, *messages)
    ids = [message.id for message in messages]
    read = await store.mark_read(alice, ids, table.clock.now)
    # Two items a message, a summary, the counter and the change: 48 a transaction.
    assert [len(change.payload.message_ids) for change in read.changes] == [48, 48, 4]  # type: ignore[union-attr]
    unread = await store.mark_unread(alice, ids, table.clock.now)
    flipped = [c.payload.message_ids for c in unread.changes]  # type: ignore[union-attr]
    assert sum(map(len, flipped)) == 100
    assert (await store.unread_count(alice)).count == 100


async def test_the_write_units_retention_adds(table: Table) -> None:
    """The figures docs/retention.md gives, measured: units billed as AWS would."""
    meter = Meter()
    metered = MeteredDynamoDB(table.client, meter)
    alice, bob = user("alice"), user("bob")
    messages = [sent(table, bob, alice, n) for n in range(12)]
    await deliver(table.store(), *messages)

    async def units(action: Any) -> tuple[float, float]:
        meter.reset()
        await action
        report = meter.report(1)["dynamodb"]
        return report["write_units"], report["read_units"]

    plain, _ = await units(
        table.store(None, metered).mark_read(alice, [messages[0].id], table.clock.now)
    )
    retained, _ = await units(
        table.store(client=metered).mark_read(alice, [messages[1].id], table.clock.now)
    )
    back, _ = await units(
        table.store(client=metered).mark_unread(alice, [messages[1].id], table.clock.now)
    )
    plain_back, _ = await units(
        table.store(None, metered).mark_unread(alice, [messages[0].id], table.clock.now)
    )
    await table.store().mark_all_read(alice, table.clock.now, list_limit=1)
    walk_writes, walk_reads = await units(
        table.store(client=metered).expire_read(alice, before=None, limit=48)
    )
    # markRead of one: the entry (its write, its unread index row deleted, its conversation
    # row rewritten) and the message item, 2 units each.
    assert retained - plain == 8
    # markUnread of an expiring one, against one read without retention: the message item's
    # expiry removed, and the entry (written by markUnread anyway) back in the unread index
    # and rewritten in the conversation index, 2 units each.
    assert back - plain_back == 6
    # The walk: the same 8 per message, beside one check of the counter (read units).
    assert walk_writes == 8 * 12
    assert walk_reads > 0
    # After a markConversationRead, through the conversation's rows instead of the index.
    dave = user("dave")
    from_bob = [sent(table, bob, dave, 100 + n) for n in range(12)]
    await deliver(table.store(), *from_bob)
    await table.store().mark_conversation_read(dave, bob, table.clock.now, list_limit=1)
    conversation_writes, conversation_reads = await units(
        table.store(client=metered).expire_read(dave, before=None, limit=48, with_user=bob)
    )
    assert conversation_writes == 8 * 12
    print(
        f"\nretention units: markRead +{retained - plain} WU, markUnread +{back - plain_back} "
        f"WU, walk {walk_writes / 12} WU and {walk_reads / 12:.2f} RU a message, in a "
        f"conversation {conversation_writes / 12} WU and {conversation_reads / 12:.2f} RU"
    )
