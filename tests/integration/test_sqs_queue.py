"""SqsDeliveryQueue against the local SQS endpoint: round trip, redelivery, dead-lettering,
and concurrent enqueues batched into SendMessageBatch calls."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from services.bootstrap import App
from services.domain import Message, UserId, new_message_id
from services.errors import DependencyUnavailable
from services.ports import Delivery
from services.provisioning import ensure_queues
from services.request_context import request_id_bound
from services.send_batcher import MAX_BATCH_BYTES
from services.sqs_queue import SqsDeliveryQueue


def a_message(body: str = "hi") -> Message:
    now = datetime.now(UTC).replace(microsecond=0)
    return Message(new_message_id(now), UserId("bob"), UserId("alice"), body, now)


async def fresh_queue(app: App, *, max_receive_count: int, visibility: int) -> tuple[str, str]:
    name = f"t-{uuid.uuid4().hex[:12]}"
    url = await ensure_queues(
        app.sqs,
        name,
        f"{name}-dlq",
        max_receive_count=max_receive_count,
        visibility_timeout_seconds=visibility,
    )
    dlq_url = (await app.sqs.get_queue_url(QueueName=f"{name}-dlq"))["QueueUrl"]
    return url, dlq_url


async def test_round_trip_and_acknowledge(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = SqsDeliveryQueue(app.sqs, url)
    sent = [a_message(f"m{i}") for i in range(12)]
    for m in sent:
        await queue.enqueue(m)
    received: list[Delivery] = []
    deadline = time.monotonic() + 10
    while len(received) < len(sent) and time.monotonic() < deadline:
        received += await queue.receive(max_messages=10, wait_seconds=1)
    assert sorted(d.message.id for d in received if d.message) == sorted(m.id for m in sent)
    assert all(d.receive_count == 1 for d in received)
    await queue.acknowledge([d.receipt for d in received])
    assert await queue.receive(max_messages=10, wait_seconds=0) == []


async def test_unacknowledged_message_comes_back(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=1)
    queue = SqsDeliveryQueue(app.sqs, url)
    sent = a_message()
    await queue.enqueue(sent)
    first = await queue.receive(max_messages=1, wait_seconds=2)
    assert [d.message for d in first] == [sent]
    again: list[Delivery] = []
    deadline = time.monotonic() + 10
    while not again and time.monotonic() < deadline:
        again = await queue.receive(max_messages=1, wait_seconds=1)
    assert [d.message for d in again] == [sent]
    assert again[0].receive_count == 2


async def test_poison_message_moves_to_dead_letter_queue(app: App) -> None:
    url, dlq_url = await fresh_queue(app, max_receive_count=2, visibility=1)
    queue = SqsDeliveryQueue(app.sqs, url)
    await app.sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    seen: list[Delivery] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen += await queue.receive(max_messages=1, wait_seconds=1)
        dead = await app.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0)
        if dead.get("Messages"):
            assert dead["Messages"][0]["Body"] == "not json at all"
            break
        await asyncio.sleep(0.2)  # paces the poll loop; the deadline bounds it
    else:
        raise AssertionError("the poison message never reached the dead-letter queue")
    assert all(d.message is None for d in seen)
    assert len(seen) == 2


# --- sends batched: concurrent enqueues share SendMessageBatch calls ---------------------------


class SqsCalls:
    """The SQS requests a real client makes, seen through botocore's own event hooks."""

    def __init__(self, client: Any) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.singles = 0
        self._events = client.meta.events
        self._events.register("before-parameter-build.sqs.SendMessageBatch", self._batch)
        self._events.register("before-call.sqs.SendMessage", self._single)

    def _batch(self, params: dict[str, Any], **_: Any) -> None:
        self.batches.append(list(params["Entries"]))

    def _single(self, **_: Any) -> None:
        self.singles += 1

    def close(self) -> None:
        self._events.unregister("before-parameter-build.sqs.SendMessageBatch", self._batch)
        self._events.unregister("before-call.sqs.SendMessage", self._single)


@contextlib.asynccontextmanager
async def batching_queue(app: App, url: str) -> AsyncIterator[tuple[SqsDeliveryQueue, SqsCalls]]:
    calls = SqsCalls(app.sqs)
    # Longer than a test needs, shorter than any deadline: concurrent sends join full batches.
    queue = SqsDeliveryQueue(app.sqs, url, batch_linger_seconds=0.05)
    try:
        yield queue, calls
    finally:
        await queue.aclose()
        calls.close()


async def drain(queue: SqsDeliveryQueue, expected: int) -> list[Delivery]:
    """Everything on the queue, acknowledged, once `expected` came or the deadline passed,
    plus whatever one more poll finds (a second copy would show there)."""
    received: list[Delivery] = []
    deadline = time.monotonic() + 20
    while len(received) < expected and time.monotonic() < deadline:
        batch = await queue.receive(max_messages=10, wait_seconds=1)
        await queue.acknowledge([d.receipt for d in batch])
        received += batch
    received += await queue.receive(max_messages=10, wait_seconds=1)
    return received


async def test_fifty_concurrent_enqueues_share_at_most_ten_batch_calls(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    sent = [a_message(f"m{i}") for i in range(50)]
    async with batching_queue(app, url) as (queue, calls):
        await asyncio.gather(*(queue.enqueue(m) for m in sent))
        assert 5 <= len(calls.batches) <= 10
        assert calls.singles == 0
        for entries in calls.batches:
            assert len(entries) <= 10
            assert len({entry["Id"] for entry in entries}) == len(entries)
        received = await drain(queue, len(sent))
    ids = Counter(d.message.id for d in received if d.message)
    assert ids == Counter(m.id for m in sent)  # each once: nothing lost, nothing doubled


async def test_a_batched_message_keeps_its_request_id(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    first, second = a_message("one"), a_message("two")

    async def enqueue_under(message: Message, request_id: str) -> None:
        with request_id_bound(request_id):
            await queue.enqueue(message)

    async with batching_queue(app, url) as (queue, calls):
        await asyncio.gather(enqueue_under(first, "req-1"), enqueue_under(second, "req-2"))
        received = await drain(queue, 2)
    assert len(calls.batches) == 1
    assert sorted((d.message.body, d.request_id) for d in received if d.message) == [
        ("one", "req-1"),
        ("two", "req-2"),
    ]


async def test_bodies_beyond_the_batch_byte_limit_go_in_another_call(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    # ~30 KB each: eight fit in 256 KiB, the ninth does not.
    sent = [a_message(f"{i}" + "x" * 30_000) for i in range(10)]
    async with batching_queue(app, url) as (queue, calls):
        await asyncio.gather(*(queue.enqueue(m) for m in sent))
        assert [len(entries) for entries in calls.batches] == [8, 2]
        for entries in calls.batches:
            assert sum(len(e["MessageBody"].encode()) for e in entries) <= MAX_BATCH_BYTES
        received = await drain(queue, len(sent))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in sent)


async def test_a_message_sqs_refuses_fails_only_its_own_enqueue(app: App) -> None:
    # SQS refuses a whole batch call for one body longer than the queue allows: the adapter
    # then sends each alone, so only that body's sender fails.
    name = f"t-{uuid.uuid4().hex[:12]}"
    created = await app.sqs.create_queue(QueueName=name, Attributes={"MaximumMessageSize": "1024"})
    url = created["QueueUrl"]
    fine = [a_message(f"m{i}") for i in range(9)]
    too_long = a_message("x" * 2_000)
    async with batching_queue(app, url) as (queue, calls):
        results = await asyncio.gather(
            *(queue.enqueue(m) for m in [*fine[:4], too_long, *fine[4:]]),
            return_exceptions=True,
        )
        refused = results.pop(4)
        assert isinstance(refused, DependencyUnavailable)
        assert refused.code == "INTERNAL_SERVER_ERROR"  # shown to clients masked
        assert results == [None] * 9
        assert [len(entries) for entries in calls.batches] == [10]
        assert calls.singles == 10  # the refused call, sent again one by one
        received = await drain(queue, len(fine))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in fine)


async def test_closing_the_queue_sends_what_waits_for_a_batch(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = SqsDeliveryQueue(app.sqs, url, batch_linger_seconds=3600)
    sent = [a_message(f"m{i}") for i in range(3)]
    waiting = [asyncio.create_task(queue.enqueue(m)) for m in sent]
    await asyncio.sleep(0)  # lets the three join one batch
    assert not any(task.done() for task in waiting)
    await asyncio.wait_for(queue.aclose(), 10)
    await asyncio.wait_for(asyncio.gather(*waiting), 10)
    received = await drain(queue, len(sent))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in sent)
