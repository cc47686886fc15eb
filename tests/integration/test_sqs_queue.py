"""SqsDeliveryQueue against the local SQS endpoint: round trip, redelivery, dead-lettering."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from services.bootstrap import App
from services.domain import Message, UserId, new_message_id
from services.ports import Delivery
from services.provisioning import ensure_queues
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
