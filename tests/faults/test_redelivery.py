"""(a) SQS delivers at least once: the same queue message handled 2-5 times, one after the
other or at the same moment, stores each message once and counts it once."""

from __future__ import annotations

import asyncio
import random

from services.delivery import DeliveryWorker, deliver
from services.domain import UserId
from services.local.stack import StackEndpoints
from services.message_codec import encode_message
from services.ports import Delivery
from tests.conftest import new_user
from tests.faults.checker import History
from tests.faults.conftest import fault_app, fault_settings, judge, wait_quiet

MESSAGES = 40


async def test_the_same_queue_message_sent_again_2_to_5_times_is_delivered_once(
    stack: StackEndpoints, session_tag: str
) -> None:
    history = History("redelivery_sequential")
    users = [new_user("dup") for _ in range(4)]
    rng = random.Random(7)
    async with fault_app(stack, fault_settings(stack, session_tag)) as app:
        for n in range(MESSAGES):
            recipient = users[n % len(users)]
            body = f"dup-{n}-{recipient}"
            message = await app.sending.send_message(UserId(users[0]), recipient, body)
            history.accepted(recipient, body, message.id)
            # The very same body again, 1-4 more times: SQS redelivering, or a producer retrying.
            for _ in range(rng.randint(1, 4)):
                await app.clients.sqs.send_message(
                    QueueUrl=app.clients.queue_url, MessageBody=encode_message(message)
                )
                history.fault("duplicate_queue_message")
        worker = DeliveryWorker(app.consumer, app.store, app.hub, wait_seconds=0)
        while await worker.run_once(wait_seconds=0):
            pass
        await wait_quiet(app)
        verdict = await judge(history, app.store)
        assert verdict.faults["duplicate_queue_message"] >= MESSAGES


async def test_one_received_batch_delivered_concurrently_several_times_counts_once(
    stack: StackEndpoints, session_tag: str
) -> None:
    history = History("redelivery_concurrent")
    users = [new_user("race") for _ in range(3)]
    async with fault_app(stack, fault_settings(stack, session_tag)) as app:
        for n in range(30):
            recipient = users[n % len(users)]
            body = f"race-{n}-{recipient}"
            message = await app.sending.send_message(UserId(users[1]), recipient, body)
            history.accepted(recipient, body, message.id)
        worker = DeliveryWorker(app.consumer, app.store, app.hub, wait_seconds=0)
        rng = random.Random(5)
        created_total = 0
        while batch := await app.consumer.receive(max_messages=10, wait_seconds=0):
            copies = rng.randint(2, 5)
            history.fault("concurrent_duplicate_delivery", (copies - 1) * len(batch))
            # The worker's own path, `copies` times at once over the same received batch, as
            # when SQS hands one message to several consumers (moto occasionally does).
            results = await asyncio.gather(*(worker.deliver_batch(batch) for _ in range(copies)))
            assert all(all(outcome) for outcome in results), "a duplicate was reported as failed"
            created_total += sum(await _created(worker, batch))
            await app.consumer.acknowledge([item.receipt for item in batch])
        await wait_quiet(app)
        await judge(history, app.store)
        assert created_total == 0  # everything was already stored by the concurrent copies


async def _created(worker: DeliveryWorker, batch: list[Delivery]) -> list[bool]:
    """Deliver once more, sequentially: each must now be a duplicate (False)."""
    results = []
    for item in batch:
        assert item.message is not None
        results.append((await deliver(item.message, worker.store, worker.publisher)).stored)
    return results
