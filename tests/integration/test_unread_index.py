"""What only the DynamoDB adapter does with read state: marks beyond a summary's room spill
onto their entries, and unread pages take entries a horizon read out of the `unread` index, so
later pages stop skipping them (docs/conversations-design.md, section 2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.domain import Message, MessageId, UserId, new_message_id
from services.dynamodb.store import DynamoMessageStore
from services.dynamodb.unread_index import CLEANED_PER_PAGE
from services.local.stack import StackEndpoints
from services.read_state import MAX_MARKS
from tests.conftest import new_user
from tests.contract.message_stores import _CLIENTS, dynamo_store

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def message(sender: UserId, recipient: UserId, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"hello {n}", at)


@pytest.fixture
async def store(stack: StackEndpoints, session_tag: str) -> AsyncIterator[DynamoMessageStore]:
    async with dynamo_store(stack, session_tag) as opened:
        assert isinstance(opened, DynamoMessageStore)
        yield opened


async def index_rows(store: DynamoMessageStore, user_id: UserId) -> int:
    client, table = _CLIENTS[store]
    response = await client.query(
        TableName=table,
        IndexName="unread",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}},
        Select="COUNT",
        ConsistentRead=True,
    )
    return int(response["Count"])


async def spilled(store: DynamoMessageStore, user_id: UserId) -> set[MessageId]:
    client, table = _CLIENTS[store]
    response = await client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
        FilterExpression="attribute_exists(rd)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":msg": {"S": "MSG#"}},
        ConsistentRead=True,
    )
    return {MessageId(item["id"]["S"]) for item in response["Items"]}


async def test_marks_beyond_the_summary_spill_onto_entries_and_keep_their_times(
    store: DynamoMessageStore,
) -> None:
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    sent = [message(bob, alice, n) for n in range(40)]
    for one in sent:
        assert (await store.deliver(one)).stored
    marked = sent[0:40:2]
    for k, one in enumerate(marked):
        await store.mark_read(alice, [one.id], BASE + timedelta(seconds=k))
    assert len(await spilled(store, alice)) == len(marked) - MAX_MARKS
    assert (await store.unread_count(alice)).count == 20
    page = await store.list_inbox(alice, limit=100, before=None, unread_only=False)
    read_at = {entry.id: entry.read_at for entry in page.entries if entry.is_read}
    assert read_at == {one.id: BASE + timedelta(seconds=k) for k, one in enumerate(marked)}
    again = await store.mark_unread(alice, [one.id for one in marked], BASE)
    assert len(again.changes) == 1
    assert (await store.unread_count(alice)).count == 40


async def test_an_unread_page_takes_what_a_horizon_read_out_of_the_index(
    store: DynamoMessageStore,
) -> None:
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    old = [message(bob, alice, n) for n in range(40)]
    for one in old:
        assert (await store.deliver(one)).stored
    await store.mark_conversation_read(alice, bob, BASE, list_limit=5)
    # The horizon wrote no entry: all 40 are still in the index.
    assert await index_rows(store, alice) == 40
    new = [message(bob, alice, 100 + n) for n in range(5)]
    for one in new:
        assert (await store.deliver(one)).stored
    first = await store.list_inbox(alice, limit=3, before=None, unread_only=True)
    assert [e.id for e in first.entries] == [new[4].id, new[3].id, new[2].id]
    assert first.has_next_page
    rest = await store.list_inbox(alice, limit=3, before=new[2].id, unread_only=True)
    assert [e.id for e in rest.entries] == [new[1].id, new[0].id]
    assert not rest.has_next_page
    # The second page skipped all 40 read entries, and took the first of them out.
    assert await index_rows(store, alice) == 45 - CLEANED_PER_PAGE
    # markUnread puts a cleaned entry back, where unread pages find it.
    cleaned = old[-1]
    await store.mark_unread(alice, [cleaned.id], BASE)
    after = await store.list_inbox(alice, limit=10, before=None, unread_only=True)
    assert [e.id for e in after.entries] == [*(one.id for one in reversed(new)), cleaned.id]
    assert await index_rows(store, alice) == 45 - CLEANED_PER_PAGE + 1


async def test_an_unread_page_below_the_floor_is_empty(store: DynamoMessageStore) -> None:
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    old = [message(bob, alice, n) for n in range(3)]
    for one in old:
        assert (await store.deliver(one)).stored
    await store.mark_all_read(alice, BASE + timedelta(seconds=1), list_limit=10)
    new = message(bob, alice, 5000)
    assert (await store.deliver(new)).stored
    # A cursor from before the markAllRead, below the floor it set.
    stale = await store.list_inbox(alice, limit=10, before=old[1].id, unread_only=True)
    assert (stale.entries, stale.has_next_page) == ([], False)
    fresh = await store.list_inbox(alice, limit=10, before=None, unread_only=True)
    assert [e.id for e in fresh.entries] == [new.id]
