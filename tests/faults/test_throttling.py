"""(d) DynamoDB throttling and transaction conflicts, injected k times into the real client:
within the retry budgets the delivery succeeds on the first receive; past them the queue message
is not deleted and SQS retries it later; a failed delivery never leaves a partial write."""

from __future__ import annotations

import time

import pytest

from services.app import App
from services.delivery import DeliveryWorker
from services.domain import Message, MessageId, UserId
from services.dynamodb.keys import entry_key
from services.dynamodb.paging import READ_ATTEMPTS
from services.dynamodb.transactions import TRANSACTION_ATTEMPTS
from services.errors import DependencyUnavailable
from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.faults.checker import History
from tests.faults.conftest import (
    QUIET_DEADLINE,
    fault_app,
    fault_settings,
    judge,
    queue_sizes,
    wait_quiet,
)
from tests.faults.dynamodb_faults import DynamoFaults, UnprocessedReads

MAX_ATTEMPTS = 3  # botocore standard mode: attempts per call, the first one included


async def send(app: App, history: History, sender: str, recipient: str, body: str) -> Message:
    message = await app.sending.send_message(UserId(sender), recipient, body)
    history.accepted(recipient, body, message.id)
    return message


async def deliver_until_quiet(worker: DeliveryWorker, app: App) -> int:
    """Run the worker's receive-deliver-delete until the queue is empty; the receives made."""
    receives = 0
    deadline = time.monotonic() + QUIET_DEADLINE
    while await queue_sizes(app) != (0, 0):
        assert time.monotonic() < deadline, f"queue never went quiet: {await queue_sizes(app)}"
        await worker.run_once(wait_seconds=1)
        receives += 1
    return receives


async def test_faults_within_the_retry_budgets_are_absorbed_on_the_first_receive(
    stack: StackEndpoints, session_tag: str
) -> None:
    history = History("dynamodb_throttling_within_budget")
    sender, users = new_user("thr"), [new_user("thr") for _ in range(3)]
    settings = fault_settings(stack, session_tag, aws_max_attempts=MAX_ATTEMPTS)
    async with fault_app(stack, settings) as app:
        faults = DynamoFaults(app.clients.dynamodb)
        try:
            planned: dict[MessageId, int] = {}
            for n in range(24):
                message = await send(app, history, sender, users[n % 3], f"thr-{n}")
                throttled, conflicts = n % 3, n % 4 + 2  # k < MAX_ATTEMPTS; k < store attempts
                faults.fail(message.id, "ProvisionedThroughputExceededException", throttled)
                faults.fail(message.id, "TransactionConflict", conflicts)
                planned[message.id] = throttled + conflicts
            worker = DeliveryWorker(app.consumer, app.store, app.hub, wait_seconds=0)
            while await worker.run_once(wait_seconds=0):
                pass
            # Nothing was left for SQS to retry: every delivery succeeded on its first receive.
            assert await queue_sizes(app) == (0, 0)
            for message_id, injected in planned.items():
                assert faults.attempts[message_id] == injected + 1
            for fault, times in faults.injected.items():
                history.fault(fault, times)
        finally:
            faults.close()
        await judge(history, app.store)


async def test_faults_past_the_retry_budgets_leave_the_message_queued_and_nothing_written(
    stack: StackEndpoints, session_tag: str
) -> None:
    history = History("dynamodb_throttling_past_budget")
    sender, recipient = new_user("thr"), new_user("thr")
    settings = fault_settings(stack, session_tag, aws_max_attempts=MAX_ATTEMPTS)
    async with fault_app(stack, settings) as app:
        faults = DynamoFaults(app.clients.dynamodb)
        try:
            # A counter that already exists, so that "unchanged" is a real comparison.
            await send(app, history, sender, recipient, "before the storm")
            worker = DeliveryWorker(app.consumer, app.store, app.hub, wait_seconds=0)
            await deliver_until_quiet(worker, app)
            before = await app.store.unread_count(UserId(recipient))

            throttled = await send(app, history, sender, recipient, "throttled past budget")
            faults.fail(throttled.id, "ProvisionedThroughputExceededException", MAX_ATTEMPTS)
            conflicted = await send(app, history, sender, recipient, "conflicting past budget")
            faults.fail(conflicted.id, "TransactionConflict", TRANSACTION_ATTEMPTS)
            flowing = [await send(app, history, sender, recipient, f"fine {n}") for n in range(5)]

            assert await worker.run_once(wait_seconds=1) == 7
            # The two failed deliveries are still on the queue (in flight, or visible again if
            # the conflict backoff outlasted the visibility timeout); the rest are deleted.
            assert sum(await queue_sizes(app)) == 2
            for message in (throttled, conflicted):
                assert not await _stored_rows(app, message), "a failed delivery wrote something"
            after_failure = await app.store.unread_count(UserId(recipient))
            assert after_failure.count == before.count + len(flowing)

            # After the visibility timeout SQS hands them out again; the faults are spent, and
            # each is stored in one attempt: the delivery reads the summary first, so it knows
            # the five that flowed past made the conversation newer, and does not move it.
            await deliver_until_quiet(worker, app)
            assert faults.attempts[throttled.id] == MAX_ATTEMPTS + 1
            assert faults.attempts[conflicted.id] == TRANSACTION_ATTEMPTS + 1
            for fault, times in faults.injected.items():
                history.fault(fault, times)
        finally:
            faults.close()
        await wait_quiet(app)
        await judge(history, app.store)


async def _stored_rows(app: App, message: Message) -> list[str]:
    """Which of the delivery transaction's rows exist for `message`. (The message's own row is
    the API's, written before it was queued.)"""
    found = []
    table = app.settings.table_name
    for what, key in (("entry", entry_key(message.recipient_id, message.id)),):
        item = await app.clients.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
        if "Item" in item:
            found.append(what)
    return found


async def test_reads_left_unprocessed_are_retried_a_bounded_number_of_times(
    stack: StackEndpoints, session_tag: str
) -> None:
    """BatchGetItem's UnprocessedKeys (throttled reads) are retried, but not for ever: a
    request has a time budget, and sustained throttling must end it with an error."""
    sender, recipient = new_user("thr"), new_user("thr")
    async with fault_app(stack, fault_settings(stack, session_tag)) as app:
        message = await app.sending.send_message(UserId(sender), recipient, "read me")
        assert await app.store.deliver(message)
        briefly = UnprocessedReads(app.clients.dynamodb, times=3)
        try:
            assert (await app.store.get_messages([message.id]))[message.id].body == "read me"
            assert briefly.calls == 4
        finally:
            briefly.close()
        always = UnprocessedReads(app.clients.dynamodb)
        started = time.monotonic()
        try:
            with pytest.raises(DependencyUnavailable):
                await app.store.get_messages([message.id])
        finally:
            always.close()
        assert always.calls == READ_ATTEMPTS
        assert time.monotonic() - started < 15
