"""Deliveries started together share one BatchGetItem and one TransactWriteItems (a round,
services/dynamodb/deliveries.py), on DynamoDB Local: what each delivery of a round ends as
when DynamoDB cancels it, and how many calls a round makes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.aws import AwsEndpoints, aws_session, client_config
from services.change_log import Delivered
from services.delivery import deliver_batch
from services.domain import Message, UserId, new_message_id
from services.dynamodb.deliveries import ROUND_LIMIT
from services.dynamodb.provisioning import ensure_table
from services.dynamodb.store import DynamoMessageStore
from services.local.stack import StackEndpoints
from services.observability.metrics import PrometheusMetrics
from services.ports import Delivery, LiveEvent
from tests.conftest import new_user, stack_settings
from tests.contract.message_stores import add_unlogged_version

BASE = datetime(2026, 1, 1, tzinfo=UTC)
COUNTED = ("batch_get_item", "transact_write_items", "update_item")


class CountingClient:
    """The DynamoDB client, counting the calls a delivery makes; `before_transaction` runs
    once, before the first TransactWriteItems reaches DynamoDB."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()
        self.before_transaction: Callable[[], Awaitable[None]] | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name not in COUNTED:
            return method

        async def counted(**params: Any) -> Any:
            self.calls[name] += 1
            if name == "transact_write_items" and self.before_transaction is not None:
                hook, self.before_transaction = self.before_transaction, None
                await hook()
            return await method(**params)

        return counted


@dataclass
class Rig:
    store: DynamoMessageStore
    client: CountingClient
    raw: Any
    table: str
    metrics: PrometheusMetrics

    def written(self, outcome: str) -> tuple[float | None, float | None]:
        """Transactions with this outcome, and the deliveries in them."""
        registry = self.metrics.registry
        return (
            registry.get_sample_value("inboxql_delivery_writes_total", {"outcome": outcome}),
            registry.get_sample_value(
                "inboxql_delivery_write_deliveries_total", {"outcome": outcome}
            ),
        )


@pytest.fixture
async def rig(stack: StackEndpoints, session_tag: str) -> AsyncIterator[Rig]:
    settings = stack_settings(stack, session_tag, table_name=f"inboxql-rounds-{session_tag}")
    session = aws_session(settings, AwsEndpoints(dynamodb=stack.dynamodb_url))
    async with session.client(
        "dynamodb", endpoint_url=stack.dynamodb_url, config=client_config(settings)
    ) as client:
        await ensure_table(client, settings.table_name)
        counting = CountingClient(client)
        metrics = PrometheusMetrics()
        store = DynamoMessageStore(counting, settings.table_name, metrics=metrics)
        yield Rig(store, counting, client, settings.table_name, metrics)


def message(sender: str, recipient: str, n: int) -> Message:
    at = BASE + timedelta(milliseconds=n)
    return Message(new_message_id(at), UserId(sender), UserId(recipient), f"hello {n}", at)


async def accepted(store: DynamoMessageStore, messages: list[Message]) -> list[Message]:
    for m in messages:
        await store.accept(m)
    return messages


async def counts(store: DynamoMessageStore, users: list[UserId]) -> list[tuple[int, int]]:
    found = [await store.unread_count(u) for u in users]
    return [(c.count, c.version) for c in found]


async def test_deliveries_started_together_are_one_read_and_one_transaction(rig: Rig) -> None:
    sender = new_user("s")
    sent = await accepted(rig.store, [message(sender, new_user("r"), n) for n in range(10)])
    rig.client.calls.clear()
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert [o.stored for o in outcomes] == [True] * 10
    assert rig.client.calls == {"batch_get_item": 1, "transact_write_items": 1}
    assert rig.written("committed") == (1, 10)
    assert rig.written("alone") == (0, 0)
    assert await counts(rig.store, [m.recipient_id for m in sent]) == [(1, 1)] * 10
    for m in sent:
        page = await rig.store.list_inbox(m.recipient_id, limit=5, before=None, unread_only=True)
        assert [e.id for e in page.entries] == [m.id]
    conversations = await rig.store.list_conversations(sent[0].recipient_id, limit=5, before=None)
    assert [(s.other_id, s.unread) for s in conversations.summaries] == [(sender, 1)]


async def test_a_round_holds_at_most_a_hundred_items(rig: Rig) -> None:
    sent = await accepted(
        rig.store, [message(new_user("s"), new_user("r"), n) for n in range(ROUND_LIMIT + 5)]
    )
    rig.client.calls.clear()
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert all(o.stored for o in outcomes)
    assert rig.client.calls["transact_write_items"] == 2
    assert await counts(rig.store, [m.recipient_id for m in sent]) == [(1, 1)] * len(sent)


async def test_one_recipients_deliveries_take_turns_across_rounds(rig: Rig) -> None:
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    sent = await accepted(
        rig.store, [message(new_user("s"), to, n) for n in range(3) for to in (alice, bob)]
    )
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert all(o.stored for o in outcomes)
    assert await counts(rig.store, [alice, bob]) == [(3, 3), (3, 3)]


async def test_a_redelivery_in_a_round_is_settled_and_the_others_stored(rig: Rig) -> None:
    sent = await accepted(rig.store, [message(new_user("s"), new_user("r"), n) for n in range(5)])
    assert (await rig.store.deliver(sent[2])).stored
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert [o.stored for o in outcomes] == [True, True, False, True, True]
    assert not outcomes[2].deleted
    assert await counts(rig.store, [m.recipient_id for m in sent]) == [(1, 1)] * 5


async def test_a_message_deleted_while_queued_is_settled_in_its_round(rig: Rig) -> None:
    sent = await accepted(rig.store, [message(new_user("s"), new_user("r"), n) for n in range(4)])
    deletion = await rig.store.delete_message(sent[1].sender_id, sent[1].id, BASE)
    assert deletion is not None
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert [(o.stored, o.deleted) for o in outcomes] == [
        (True, False),
        (False, True),
        (True, False),
        (True, False),
    ]
    assert await counts(rig.store, [m.recipient_id for m in sent]) == [
        (1, 1),
        (0, 0),
        (1, 1),
        (1, 1),
    ]


async def test_a_moved_counter_cancels_the_round_and_each_delivery_is_made_alone(
    rig: Rig,
) -> None:
    sent = await accepted(rig.store, [message(new_user("s"), new_user("r"), n) for n in range(6)])
    moved = sent[3].recipient_id

    async def another_writer() -> None:
        await add_unlogged_version(rig.raw, rig.table, moved)

    rig.client.before_transaction = another_writer
    rig.client.calls.clear()
    outcomes = await asyncio.gather(*(rig.store.deliver(m) for m in sent))
    assert all(o.stored for o in outcomes)
    # The cancelled round, then each delivery alone.
    assert rig.client.calls["transact_write_items"] == 1 + 6
    assert rig.written("cancelled") == (1, 6)
    assert rig.written("alone") == (6, 6)
    assert rig.written("committed") == (0, 0)
    expected = [(1, 2) if m.recipient_id == moved else (1, 1) for m in sent]
    assert await counts(rig.store, [m.recipient_id for m in sent]) == expected


async def test_a_repeated_id_never_shares_a_round(rig: Rig) -> None:
    first = message(new_user("s"), new_user("r"), 1)
    other = Message(first.id, first.sender_id, UserId(new_user("r")), "not it", first.sent_at)
    await rig.store.accept(first)
    outcomes = await asyncio.gather(rig.store.deliver(first), rig.store.deliver(other))
    assert [o.stored for o in outcomes] == [True, False]
    assert await counts(rig.store, [first.recipient_id, other.recipient_id]) == [(1, 1), (0, 0)]


async def test_a_round_whose_writer_is_cancelled_is_written_by_the_others(rig: Rig) -> None:
    sent = await accepted(rig.store, [message(new_user("s"), new_user("r"), n) for n in range(3)])
    tasks = [asyncio.create_task(rig.store.deliver(m)) for m in sent]
    await asyncio.sleep(0)  # each task has started: the first leads, the others joined
    tasks[0].cancel()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)
    assert isinstance(done[0], asyncio.CancelledError)
    assert [isinstance(o, Delivered) and o.stored for o in done[1:]] == [True, True]
    assert await counts(rig.store, [m.recipient_id for m in sent]) == [(0, 0), (1, 1), (1, 1)]


class Published:
    def __init__(self) -> None:
        self.to: list[UserId] = []

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        self.to.append(user_id)


async def test_a_received_batch_is_written_in_one_round(rig: Rig) -> None:
    """What the worker and the Lambda handler do with a batch: its recipients' deliveries
    start together, so the batch is one round; each is still published and acknowledged."""
    sent = await accepted(rig.store, [message(new_user("s"), new_user("r"), n) for n in range(10)])
    batch = [Delivery(f"receipt-{n}", m, 1) for n, m in enumerate(sent)]
    published = Published()
    rig.client.calls.clear()
    assert await deliver_batch(batch, rig.store, published) == [True] * 10
    assert rig.client.calls == {
        "batch_get_item": 1,
        "transact_write_items": 1,
        "update_item": 10,  # each sender's summary
    }
    assert sorted(published.to) == sorted(m.recipient_id for m in sent)
