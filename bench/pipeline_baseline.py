"""Target 3's baseline: the AWS calls a send and its delivery make, with the same item shapes,
made bare (aioboto3, InboxQL's client config), in a process of its own. It is the emulators'
bound for this work: what DynamoDB Local and the local SQS take before any of InboxQL's code
path (HTTP, GraphQL, the store, the batcher, the worker, Redis) runs.

Per message, as `sendMessage` and the delivery worker make them (docs/performance.md,
"Issue 14: the send pipeline"):

- the send: PutItem of the message (conditional), then its body in an SQS `SendMessageBatch`
  of 10, from `senders` concurrent senders;
- the delivery, from `receivers` loops each receiving 10 (1 s long poll), in rounds as
  InboxQL's store makes them (services/dynamodb/deliveries.py): a round holds one message per
  recipient of the batch, and is one consistent BatchGetItem of its recipients' counters and
  conversation summaries and one transaction of its deliveries (each the message's check, the
  inbox entry, the counter at the next version, the logged change and the recipient's
  summary: five items); then each message's sender-summary UpdateItem, and one
  `DeleteMessageBatch` per batch received.

The items are built by the same pure functions InboxQL's store builds them with
(services/dynamodb/keys.py, transactions.py), so the shapes, conditions and index projections
are the same. Deliveries to one recipient take turns, as InboxQL's do, so the bound pays no
conflicts; a round cancelled all the same is made again message by message. Redis is not
called: the pushes are InboxQL's own work, charged to it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import Message, UserId, new_message_id
from services.dynamodb.keys import counter_key, message_item, summary_key
from services.dynamodb.read_state_items import decode_counter, decode_summary
from services.dynamodb.transactions import (
    DELIVERY_ITEMS,
    cancellation_reasons,
    delivery_items,
    sender_summary_update,
    settled_by,
)
from services.message_codec import encode_message
from services.read_state import ConversationSummary
from services.settings import Settings

BATCH = 10  # SQS's maximum per SendMessageBatch, ReceiveMessage and DeleteMessageBatch
ATTEMPTS = 32
NAME = (
    "bare PutItem + SQS batch send/receive/delete, a BatchGetItem and a transaction of "
    "5-item deliveries per round, sender-summary UpdateItem per message"
)


def _messages(count: int, senders: int, recipients: int) -> list[Message]:
    start = datetime.now(UTC)
    return [
        Message(
            new_message_id(start + timedelta(microseconds=i)),
            UserId(f"bench-baseline-sender-{i % senders}"),
            UserId(f"bench-baseline-{i % recipients}"),
            f"m{i}",
            start + timedelta(microseconds=i),
        )
        for i in range(count)
    ]


class _Bound:
    """One measured pass: its clients, the calls it made, what it delivered."""

    def __init__(self, table: str, queue_url: str, dynamodb: Any, sqs: Any) -> None:
        self.table, self.queue_url = table, queue_url
        self.dynamodb, self.sqs = dynamodb, sqs
        self.calls: collections.Counter[str] = collections.Counter()
        self.turns: collections.defaultdict[UserId, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )
        self.delivered: set[str] = set()
        self.made_again = 0

    async def send_batch(self, bodies: list[str]) -> None:
        self.calls["SendMessageBatch"] += 1
        await self.sqs.send_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)],
        )

    async def produce(self, messages: Iterator[Message], senders: int) -> None:
        waiting: list[str] = []

        async def sender() -> None:
            for message in messages:
                await self.accept(message)
                waiting.append(encode_message(message, request_id=None))
                if len(waiting) >= BATCH:
                    bodies = waiting[:]
                    waiting.clear()
                    await self.send_batch(bodies)

        await asyncio.gather(*(sender() for _ in range(senders)))
        if waiting:
            await self.send_batch(waiting)

    async def accept(self, message: Message) -> None:
        for attempt in range(ATTEMPTS):
            self.calls["PutItem"] += 1
            try:
                await self.dynamodb.put_item(
                    TableName=self.table,
                    Item=message_item(message),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return
            except ClientError as error:
                # A put that landed, retried (its connection closed before the answer):
                # stored, as InboxQL's `accept` takes it.
                if _code(error) != "ConditionalCheckFailedException":
                    raise
                return
            except BotoCoreError:
                self.made_again += 1
                if attempt == ATTEMPTS - 1:
                    raise

    async def consume(self, by_body: dict[str, Message], finished: asyncio.Event) -> None:
        while not finished.is_set():
            self.calls["ReceiveMessage"] += 1
            response = await self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=1
            )
            raws = response.get("Messages", [])
            if not raws:
                continue
            await self.deliver_batch([by_body[raw["Body"]] for raw in raws])
            self.calls["DeleteMessageBatch"] += 1
            await self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": raw["ReceiptHandle"]}
                    for i, raw in enumerate(raws)
                ],
            )
            self.delivered.update(raw["Body"] for raw in raws)
            if len(self.delivered) >= len(by_body):
                finished.set()

    async def deliver_batch(self, messages: list[Message]) -> None:
        lanes: dict[UserId, list[Message]] = {}
        for message in messages:
            lanes.setdefault(message.recipient_id, []).append(message)
        for turn in itertools.zip_longest(*lanes.values()):
            round_ = [m for m in turn if m is not None]
            await self.retrying(functools.partial(self.deliver_round, round_))
            await asyncio.gather(*(self.touch_sender_summary(m) for m in round_))

    async def retrying(self, making: Callable[[], Awaitable[None]]) -> None:
        """DynamoDB Local closes a connection now and then, past botocore's retries: the
        call is made again at once (its conditions make a repeat change nothing) rather than
        left for the queue's visibility timeout, which would measure the timeout."""
        for attempt in range(ATTEMPTS):
            try:
                await making()
                return
            except BotoCoreError:
                self.made_again += 1
                if attempt == ATTEMPTS - 1:
                    raise

    async def deliver_round(self, round_: list[Message]) -> None:
        async with contextlib.AsyncExitStack() as turns:
            for recipient in sorted(m.recipient_id for m in round_):
                await turns.enter_async_context(self.turns[recipient])
            # A cancelled round's deliveries are made again alone, as InboxQL makes them.
            again = await self.write(round_)
            await asyncio.gather(*(self.deliver_alone(m) for m in again))

    async def deliver_alone(self, message: Message) -> None:
        for _ in range(ATTEMPTS):
            if not await self.write([message]):
                return
        raise RuntimeError(f"the baseline's delivery of {message.id} kept conflicting")

    async def write(self, messages: list[Message]) -> list[Message]:
        """One BatchGetItem of the recipients' counters and summaries and one transaction of
        the deliveries; returns those a cancellation left to make again (one delivered
        already, when SQS delivered a copy twice or this is made again, is settled)."""
        keys = [counter_key(m.recipient_id) for m in messages]
        keys += [summary_key(m.recipient_id, m.sender_id) for m in messages]
        self.calls["BatchGetItem"] += 1
        response = await self.dynamodb.batch_get_item(
            RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
        )
        owner = {counter_key(m.recipient_id)["pk"]["S"]: m.recipient_id for m in messages}
        counters = {m.recipient_id: decode_counter(None) for m in messages}
        summaries: dict[UserId, ConversationSummary] = {}
        for item in response["Responses"].get(self.table, []):
            recipient = owner[item["pk"]["S"]]
            if item["sk"]["S"] == "COUNT":
                counters[recipient] = decode_counter(item)
            else:
                summaries[recipient] = decode_summary(item)
        at = datetime.now(UTC)
        items = [
            item
            for m in messages
            for item in delivery_items(
                self.table, m, counters[m.recipient_id], summaries.get(m.recipient_id), at
            )[0]
        ]
        self.calls["TransactWriteItems"] += 1
        try:
            await self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            reasons = cancellation_reasons(error)
            return [
                m
                for k, m in enumerate(messages)
                if settled_by(m, reasons[k * DELIVERY_ITEMS : (k + 1) * DELIVERY_ITEMS]) is None
            ]
        return []

    async def touch_sender_summary(self, message: Message) -> None:
        self.calls["UpdateItem"] += 1
        try:
            await self.dynamodb.update_item(**sender_summary_update(self.table, message))
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def pipeline(
    table: str, queue_url: str, *, count: int, receivers: int, recipients: int, senders: int
) -> dict[str, Any]:
    settings = Settings.from_env()
    session = aws_session(settings, AwsEndpoints())
    config = client_config(settings)
    messages = _messages(count, senders, recipients)
    by_body = {encode_message(m, request_id=None): m for m in messages}
    async with (
        session.client("dynamodb", config=config) as dynamodb,
        session.client("sqs", config=config) as sqs,
    ):
        bound = _Bound(table, queue_url, dynamodb, sqs)
        finished = asyncio.Event()
        began, cpu_began = time.perf_counter(), time.process_time()
        consumers = [
            asyncio.create_task(bound.consume(by_body, finished)) for _ in range(receivers)
        ]
        await bound.produce(iter(messages), senders)
        await asyncio.wait_for(finished.wait(), timeout=240)
        elapsed = time.perf_counter() - began
        await asyncio.gather(*consumers)
        cpu_seconds = time.process_time() - cpu_began
    delivered = len(bound.delivered)
    return {
        "messages": delivered,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(delivered / elapsed, 1),
        "receivers": receivers,
        "senders": senders,
        "calls_made_again": bound.made_again,
        # The bare client's own CPU, sends and deliveries together, against InboxQL's
        # "CPU: send, API part" plus "CPU: delivery, worker part".
        "cpu_ms_per_message": round(1000 * cpu_seconds / max(delivered, 1), 2),
        "calls_per_message": {k: round(v / max(delivered, 1), 3) for k, v in bound.calls.items()},
    }
