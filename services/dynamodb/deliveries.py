"""Deliveries into DynamoDB, and the rounds that let deliveries started together share calls.

A delivery is one five-item transaction on reads of its recipient's counter and summary
(services/dynamodb/transactions.py), so the worker's batch of ten, whose recipients it serves
concurrently (services/delivery.py), was ten BatchGetItems and ten TransactWriteItems.
Deliveries that reach this store in the same turn of the event loop now form a round, as a
DataLoader batches loads: one BatchGetItem reads every recipient's counter and summary, and
one TransactWriteItems writes every delivery. DynamoDB prices a transaction by its items, so
the bill is the same; the calls, their CPU and their round trips are a tenth, and DynamoDB
Local takes about twice the deliveries a second (docs/performance.md).

A transaction is all or nothing, so a round holds only deliveries that can commit together:
one per recipient (a user's deliveries take turns in this process anyway) and per message id,
at most 20 (100 items). When DynamoDB cancels a round, each delivery's own reasons say what
happened to it: a redelivery, a deleted message or another message's id is settled there;
every other delivery of the round (its counter moved, or it was cancelled for another's sake)
is made again alone, on fresh reads, exactly as a delivery was before rounds. Rounds are an
optimisation only: a delivery that starts alone is written alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from services.change_log import Delivered
from services.disabled import NO_METRICS
from services.domain import Message, UserId
from services.dynamodb.read_inputs import read_inputs, users_inputs
from services.dynamodb.transactions import (
    DELIVERY_ITEMS,
    DELIVERY_MESSAGE,
    TRANSACTION_ATTEMPTS,
    TransactionConflict,
    cancellation_reasons,
    conflict_pause,
    delivery_items,
    is_cancelled,
    message_check_failure,
    sender_summary_update,
    settled_by,
)
from services.dynamodb.user_turns import UserTurns
from services.ports import Metrics

ROUND_LIMIT = 100 // DELIVERY_ITEMS  # TransactWriteItems takes at most 100 items

Outcome = Delivered | BaseException


class _Round:
    """Deliveries waiting to be written together; the first one's task writes them."""

    def __init__(self, first: Message) -> None:
        self.messages = [first]
        self.waiting: list[asyncio.Future[Delivered]] = []
        self._recipients = {first.recipient_id}
        self._ids = {first.id}

    def takes(self, message: Message) -> bool:
        return (
            len(self.messages) < ROUND_LIMIT
            and message.recipient_id not in self._recipients
            and message.id not in self._ids
        )

    def join(self, message: Message) -> asyncio.Future[Delivered]:
        self.messages.append(message)
        self._recipients.add(message.recipient_id)
        self._ids.add(message.id)
        joined: asyncio.Future[Delivered] = asyncio.get_running_loop().create_future()
        self.waiting.append(joined)
        return joined

    def settle(self, outcomes: Sequence[Outcome]) -> Delivered:
        """Hands each joined delivery its outcome, and returns (or raises) the first's."""
        for joined, outcome in zip(self.waiting, outcomes[1:], strict=True):
            if joined.done():  # its caller stopped waiting
                continue
            if isinstance(outcome, BaseException):
                _fail(joined, outcome)
            else:
                joined.set_result(outcome)
        first = outcomes[0]
        if isinstance(first, BaseException):
            raise first
        return first

    def fail(self, error: BaseException) -> None:
        for joined in self.waiting:
            if not joined.done():
                _fail(joined, error)


class _Abandoned(Exception):
    """The task writing the round was cancelled: each delivery it held is written alone."""


def _fail(joined: asyncio.Future[Delivered], error: BaseException) -> None:
    joined.set_exception(_Abandoned() if isinstance(error, asyncio.CancelledError) else error)


class Deliveries:
    def __init__(
        self,
        client: Any,
        table: str,
        turns: UserTurns,
        clock: Callable[[], datetime],
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._client = client
        self._table = table
        self._turns = turns
        self._clock = clock
        self._metrics = metrics
        self._open: _Round | None = None

    async def deliver(self, message: Message) -> Delivered:
        async with self._turns.turn(message.recipient_id):
            forming = self._open
            if forming is None or not forming.takes(message):
                return await self._lead(message)
            try:
                return await forming.join(message)
            except _Abandoned:
                return await self._alone(message)

    async def _lead(self, message: Message) -> Delivered:
        forming = self._open = _Round(message)
        try:
            try:
                # The deliveries started in this same turn of the loop join meanwhile.
                await asyncio.sleep(0)
            finally:
                if self._open is forming:
                    self._open = None
            outcomes = await self._write(forming.messages)
        except BaseException as error:
            forming.fail(error)
            raise
        return forming.settle(outcomes)

    async def _write(self, messages: list[Message]) -> list[Outcome]:
        if len(messages) == 1:
            return [await self._alone(messages[0])]
        wanted: dict[UserId, set[UserId]] = {m.recipient_id: {m.sender_id} for m in messages}
        inputs = await users_inputs(self._client, self._table, wanted)
        at = self._clock()
        built = [
            delivery_items(
                self._table,
                m,
                inputs[m.recipient_id].counter,
                inputs[m.recipient_id].summaries.get(m.sender_id),
                at,
            )
            for m in messages
        ]
        try:
            await self._client.transact_write_items(
                TransactItems=[item for items, _ in built for item in items]
            )
        except ClientError as error:
            if not is_cancelled(error):
                raise
            self._metrics.deliveries_written("cancelled", len(messages))
            reasons = cancellation_reasons(error)
            settled = [
                settled_by(m, reasons[k * DELIVERY_ITEMS : (k + 1) * DELIVERY_ITEMS])
                for k, m in enumerate(messages)
            ]
            return await self._again(messages, settled)
        self._metrics.deliveries_written("committed", len(messages))
        return [Delivered(change) for _, change in built]

    async def _again(
        self, messages: list[Message], settled: list[Delivered | None]
    ) -> list[Outcome]:
        """Each delivery of a cancelled round its outcome: the settled one's, the others'
        from a delivery of their own, all at once."""

        async def outcome(message: Message, done: Delivered | None) -> Delivered:
            return done if done is not None else await self._alone(message)

        return await asyncio.gather(
            *(outcome(m, done) for m, done in zip(messages, settled, strict=True)),
            return_exceptions=True,
        )

    async def _alone(self, message: Message) -> Delivered:
        self._metrics.deliveries_written("alone", 1)
        unaccepted = False
        for attempt in range(TRANSACTION_ATTEMPTS):
            inputs, _ = await read_inputs(
                self._client, self._table, message.recipient_id, [message.sender_id]
            )
            items, change = delivery_items(
                self._table,
                message,
                inputs.counter,
                inputs.summaries.get(message.sender_id),
                self._clock(),
                unaccepted=unaccepted,
            )
            try:
                await self._client.transact_write_items(TransactItems=items)
                return Delivered(change)
            except ClientError as error:
                if not is_cancelled(error):
                    raise
                reasons = cancellation_reasons(error)
                settled = settled_by(message, reasons)
                if settled is not None:
                    return settled
                if reasons and reasons[DELIVERY_MESSAGE].get("Code") == "ConditionalCheckFailed":
                    # No item: an API that predates `accept` queued it, so this delivery
                    # stores it. An item where there was none (the other way round): stored
                    # meanwhile, so the check decides again.
                    unaccepted = message_check_failure(reasons) is None
                    continue
                # The counter or the summary moved (another change to this recipient, or
                # the recipient's own reply): read both again.
                await conflict_pause(attempt)
        raise TransactionConflict(f"delivery of {message.id} kept conflicting")

    async def touch_sender_summary(self, message: Message) -> None:
        if message.sender_id == message.recipient_id:
            # A note to self has one summary, the recipient's, already moved.
            return
        try:
            await self._client.update_item(**sender_summary_update(self._table, message))
        except ClientError as error:
            # A newer message is the conversation's newest already: nothing to do.
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
