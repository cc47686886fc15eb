"""DynamoMessageStore against DynamoDB Local: exactness of the counter, paging, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.app import App
from services.domain import (
    Message,
    MessageId,
    UnreadCount,
    UserId,
    new_message_id,
)
from services.dynamodb.store import DynamoMessageStore
from tests.conftest import new_user

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def message(sender: str, recipient: str, n: int, body: str = "hello") -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), UserId(sender), UserId(recipient), f"{body} {n}", at)


async def test_delivery_is_idempotent(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = message(bob, alice, 1)
    assert (await app.store.deliver(sent)).stored is True
    assert (await app.store.deliver(sent)).stored is False
    count = await app.store.unread_count(UserId(alice))
    assert (count.count, count.version) == (1, 1)
    page = await app.store.list_inbox(UserId(alice), limit=10, before=None, unread_only=False)
    assert [e.id for e in page.entries] == [sent.id]


async def test_concurrent_duplicate_deliveries_count_once(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = message(bob, alice, 1)
    results = await asyncio.gather(*(app.store.deliver(sent) for _ in range(5)))
    assert sorted(r.stored for r in results) == [False, False, False, False, True]
    assert (await app.store.unread_count(UserId(alice))).count == 1


async def test_concurrent_deliveries_to_one_user_are_exact(app: App) -> None:
    alice = new_user("alice")
    sent = [message(new_user("s"), alice, n) for n in range(40)]
    assert all(r.stored for r in await asyncio.gather(*(app.store.deliver(m) for m in sent)))
    count = await app.store.unread_count(UserId(alice))
    assert (count.count, count.version) == (40, 40)


async def test_inbox_pages_newest_first_without_overlap(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = [message(bob, alice, n) for n in range(25)]
    for m in sent:
        await app.store.deliver(m)
    seen: list[MessageId] = []
    before = None
    pages = 0
    while True:
        page = await app.store.list_inbox(UserId(alice), limit=10, before=before, unread_only=False)
        pages += 1
        seen.extend(e.id for e in page.entries)
        if not page.has_next_page:
            break
        before = page.entries[-1].id
    assert pages == 3
    assert seen == [m.id for m in reversed(sent)]


async def test_unread_only_and_mark_read(app: App) -> None:
    alice, bob, eve = new_user("alice"), new_user("bob"), new_user("eve")
    sent = [message(bob, alice, n) for n in range(6)]
    for m in sent:
        await app.store.deliver(m)
    evil = message(bob, eve, 99)
    await app.store.deliver(evil)

    marked = (
        await app.store.mark_read(
            UserId(alice), [sent[0].id, sent[1].id, evil.id, MessageId("01" + "0" * 24)], BASE
        )
    ).entries
    assert [e.id for e in marked] == [sent[0].id, sent[1].id]
    assert all(e.is_read and e.read_at == BASE for e in marked)
    assert (await app.store.unread_count(UserId(alice))).count == 4
    assert (await app.store.unread_count(UserId(eve))).count == 1

    unread = await app.store.list_inbox(UserId(alice), limit=10, before=None, unread_only=True)
    assert [e.id for e in unread.entries] == [m.id for m in reversed(sent[2:])]
    assert not any(e.is_read for e in unread.entries)

    again = (
        await app.store.mark_read(UserId(alice), [sent[0].id], BASE + timedelta(hours=1))
    ).entries
    assert again[0].read_at == BASE, "a second markRead keeps the first readAt"
    assert (await app.store.unread_count(UserId(alice))).count == 4


async def test_concurrent_mark_read_decrements_once(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = [message(bob, alice, n) for n in range(10)]
    for m in sent:
        await app.store.deliver(m)
    ids = [m.id for m in sent]
    results = await asyncio.gather(
        *(app.store.mark_read(UserId(alice), ids[k:] + ids[:k], BASE) for k in range(5))
    )
    assert all(len(r.entries) == 10 and all(e.is_read for e in r.entries) for r in results)
    count = await app.store.unread_count(UserId(alice))
    assert count.count == 0


async def test_mark_read_of_a_hundred_in_one_call(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = [message(bob, alice, n) for n in range(120)]
    await asyncio.gather(*(app.store.deliver(m) for m in sent))
    marked = (await app.store.mark_read(UserId(alice), [m.id for m in sent[:100]], BASE)).entries
    assert len(marked) == 100
    assert (await app.store.unread_count(UserId(alice))).count == 20


async def test_conversation_holds_both_directions_only(app: App) -> None:
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    a_to_b, b_to_a, c_to_a = (
        message(alice, bob, 1),
        message(bob, alice, 2),
        message(carol, alice, 3),
    )
    for m in (a_to_b, b_to_a, c_to_a):
        await app.store.deliver(m)
    page = await app.store.list_conversation(UserId(alice), UserId(bob), limit=10, before=None)
    assert [e.id for e in page.entries] == [b_to_a.id, a_to_b.id]
    older = await app.store.list_conversation(
        UserId(bob), UserId(alice), limit=10, before=b_to_a.id
    )
    assert [e.id for e in older.entries] == [a_to_b.id]


async def test_client_message_id_reservation(app: App) -> None:
    bob, alice = new_user("bob"), new_user("alice")
    first, second = message(bob, alice, 1), message(bob, alice, 2)
    expires = BASE + timedelta(hours=24)
    assert await app.store.reserve_client_message_id(first, "key-1", expires) == first
    assert await app.store.reserve_client_message_id(second, "key-1", expires) == first
    # An expired reservation is free again even before TTL deletes it.
    late = Message(
        second.id,
        second.sender_id,
        second.recipient_id,
        second.body,
        expires + timedelta(seconds=1),
    )
    assert (
        await app.store.reserve_client_message_id(late, "key-1", expires + timedelta(days=1))
        == late
    )


async def test_messages_and_entries_for_unknown_ids_are_absent(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = message(bob, alice, 1)
    await app.store.deliver(sent)
    unknown = message(bob, alice, 2).id
    assert set(await app.store.get_messages([sent.id, unknown])) == {sent.id}
    assert set(await app.store.get_entries(UserId(alice), [sent.id, unknown])) == {sent.id}
    assert await app.store.get_entries(UserId(bob), [sent.id]) == {}


async def test_repeated_ids_are_read_once(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = message(bob, alice, 1)
    await app.store.deliver(sent)
    assert set(await app.store.get_messages([sent.id, sent.id])) == {sent.id}
    assert set(await app.store.get_entries(UserId(alice), [sent.id, sent.id])) == {sent.id}


async def test_processes_changing_one_user_at_once_serialise_on_its_version(app: App) -> None:
    # Two stores stand for two processes: each serialises its own changes to a user, so only
    # the version condition keeps them apart. Every change still takes exactly one version.
    client = app.clients.dynamodb
    stores = [DynamoMessageStore(client, app.settings.table_name) for _ in range(2)]
    alice = new_user("alice")
    early = [message(new_user("s"), alice, n) for n in range(8)]
    for n, m in enumerate(early):
        await stores[n % 2].deliver(m)
    late = [message(new_user("s"), alice, 100 + n) for n in range(16)]
    await asyncio.gather(
        *(stores[n % 2].deliver(m) for n, m in enumerate(late)),
        *(stores[k % 2].mark_read(UserId(alice), [early[k].id], BASE) for k in range(8)),
    )
    batch = await stores[0].changes(UserId(alice), since=0, limit=100, now=datetime.now(UTC))
    assert [c.version for c in batch.changes] == list(range(1, 33))
    assert await stores[1].unread_count(UserId(alice)) == UnreadCount(16, 32)
