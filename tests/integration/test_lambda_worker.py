"""The Lambda delivery worker against the local stack: real SQS-shaped events (made from messages
actually sent to and received from the SQS endpoint), DynamoDB Local and redis-server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest

from services import lambda_worker
from services.app import App, Role
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.change_log import Delivered, LiveChange
from services.domain import Message, MessageId, UnreadCountChanged, UserId
from services.domain import new_message_id as make_id
from services.dynamodb.store import DynamoMessageStore
from services.local.stack import StackEndpoints
from services.message_codec import encode_message
from services.ports import EventStreamItem
from services.settings import Settings, SettingsError
from tests.conftest import (
    external_env,
    new_user,
    stack_endpoints,
    stack_settings,
)

UNDECODABLE = "this is not an InboxQL message"
# What a Lambda SQS record's `attributes` carries (AWS Lambda developer guide, SQS event).
RECORD_ATTRIBUTES = {
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
}


def a_message(sender: str, recipient: str, body: str = "hi") -> Message:
    now = datetime.now(UTC).replace(microsecond=0)  # stored to the millisecond
    return Message(make_id(now), UserId(sender), UserId(recipient), body, now)


def lambda_record(raw: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received SQS message in the shape of a record of Lambda's SQS event."""
    assert set(raw["Attributes"]) >= RECORD_ATTRIBUTES
    return {
        "messageId": raw["MessageId"],
        "receiptHandle": raw["ReceiptHandle"],
        "body": raw["Body"],
        "attributes": raw["Attributes"],
        "messageAttributes": {},
        "md5OfBody": raw["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


async def receive_records(app: App, count: int) -> list[dict[str, Any]]:
    """Receive `count` messages from the app's queue as the event source mapping would, and
    turn them into Lambda records."""
    arn = (
        await app.clients.sqs.get_queue_attributes(
            QueueUrl=app.clients.queue_url, AttributeNames=["QueueArn"]
        )
    )["Attributes"]["QueueArn"]
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        response = await app.clients.sqs.receive_message(
            QueueUrl=app.clients.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        received += response.get("Messages", [])
    assert len(received) == count
    return [lambda_record(raw, arn, app.settings.aws_region) for raw in received]


async def sqs_event(app: App, bodies: list[str]) -> dict[str, Any]:
    for body in bodies:
        await app.clients.sqs.send_message(QueueUrl=app.clients.queue_url, MessageBody=body)
    return {"Records": await receive_records(app, len(bodies))}


async def redeliver(app: App, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SQS shows these messages again (as after a visibility timeout); receive them anew."""
    for record in records:
        await app.clients.sqs.change_message_visibility(
            QueueUrl=app.clients.queue_url,
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=0,
        )
    return await receive_records(app, len(records))


def message_id_of(record: dict[str, Any]) -> MessageId | None:
    delivery = lambda_worker.to_delivery(record)
    return delivery.message.id if delivery.message else None


async def inbox_ids(app: App, user: str) -> list[MessageId]:
    page = await app.store.list_inbox(UserId(user), limit=100, before=None, unread_only=False)
    return sorted(entry.id for entry in page.entries)


async def count_of(app: App, user: str) -> tuple[int, int]:
    count = await app.store.unread_count(UserId(user))
    return count.count, count.version


class FailingStore(DynamoMessageStore):
    """The real store, except that delivering the chosen messages fails."""

    def __init__(self, app: App, failing: set[MessageId]) -> None:
        super().__init__(app.clients.dynamodb, app.settings.table_name)
        self.failing = failing

    async def deliver(self, message: Message) -> Delivered:
        if message.id in self.failing:
            raise ConnectionError(f"simulated DynamoDB failure for {message.id}")
        return await super().deliver(message)


async def next_item(stream: AsyncIterator[EventStreamItem]) -> EventStreamItem:
    return await asyncio.wait_for(anext(stream), 5)


# --- the core, on the test's App ----------------------------------------------------------


async def test_a_batch_is_delivered_counted_and_announced(app: App) -> None:
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    sent = [a_message(bob, alice, "one"), a_message(carol, alice, "two"), a_message(alice, bob)]
    event = await sqs_event(app, [encode_message(m) for m in sent])
    assert all(
        record["attributes"]["ApproximateReceiveCount"] == "1" for record in event["Records"]
    )

    async with app.hub.subscribe(UserId(alice)) as events:
        failed = await lambda_worker.handle_records(event["Records"], app.store, app.hub)
        assert failed == []
        announced: set[MessageId] = set()
        counts: list[int] = []
        while len(announced) < 2 or 2 not in counts:
            item = await next_item(events)
            # One event per change: the count after it, and the message received.
            if isinstance(item, LiveChange) and item.message is not None:
                announced.add(item.message.id)
                counts.append(item.change.count)
    assert announced == {sent[0].id, sent[1].id}

    assert await inbox_ids(app, alice) == sorted([sent[0].id, sent[1].id])
    assert await inbox_ids(app, bob) == [sent[2].id]
    assert await count_of(app, alice) == (2, 2)
    assert await count_of(app, bob) == (1, 1)
    assert await app.store.get_messages([m.id for m in sent]) == {m.id: m for m in sent}


async def test_partial_failure_reports_exactly_the_failed_records(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    first, broken, last = (a_message(bob, alice, body) for body in ("first", "broken", "last"))
    event = await sqs_event(app, [encode_message(first), UNDECODABLE, encode_message(broken)])
    event["Records"] += (await sqs_event(app, [encode_message(last)]))["Records"]
    records = event["Records"]
    expected_failures = [r["messageId"] for r in records if message_id_of(r) in (None, broken.id)]
    assert len(expected_failures) == 2

    store = FailingStore(app, {broken.id})
    failed = await lambda_worker.handle_records(records, store, app.hub)

    assert failed == expected_failures  # in record order
    assert await inbox_ids(app, alice) == sorted([first.id, last.id])
    assert await count_of(app, alice) == (2, 2)
    assert await app.store.get_messages([broken.id]) == {}

    # SQS shows the two failed ones again; the retry delivers the message, once.
    retried = await redeliver(app, [r for r in records if r["messageId"] in failed])
    assert {r["messageId"] for r in retried} == set(failed)
    assert all(r["attributes"]["ApproximateReceiveCount"] == "2" for r in retried)
    assert all(lambda_worker.to_delivery(r).receive_count == 2 for r in retried)
    undecodable_id = next(r["messageId"] for r in retried if message_id_of(r) is None)
    assert await lambda_worker.handle_records(retried, app.store, app.hub) == [undecodable_id]
    assert await inbox_ids(app, alice) == sorted([first.id, broken.id, last.id])
    assert await count_of(app, alice) == (3, 3)


async def test_a_redelivered_record_changes_nothing(app: App) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = a_message(bob, alice)
    event = await sqs_event(app, [encode_message(sent)])
    assert await lambda_worker.handle_records(event["Records"], app.store, app.hub) == []
    before = (await inbox_ids(app, alice), await count_of(app, alice))
    assert before == ([sent.id], (1, 1))

    again = await redeliver(app, event["Records"])
    assert again[0]["messageId"] == event["Records"][0]["messageId"]
    assert again[0]["attributes"]["ApproximateReceiveCount"] == "2"
    async with app.hub.subscribe(UserId(alice)) as events:
        assert await lambda_worker.handle_records(again, app.store, app.hub) == []
        # The count is announced again (harmless), the message is not: it was not new.
        assert await next_item(events) == UnreadCountChanged(UserId(alice), 1, 1)
    assert (await inbox_ids(app, alice), await count_of(app, alice)) == before


async def test_an_empty_event_has_no_failures(app: App) -> None:
    assert await lambda_worker.handle_records([], app.store, app.hub) == []


# --- settings for the function ----------------------------------------------------------


def test_lambda_settings_are_external_and_need_no_jwt_secret() -> None:
    settings = lambda_worker.lambda_settings(
        {"INBOXQL_TABLE": "t", "REDIS_URL": "rediss://c:6379/0"}
    )
    assert (settings.stack, settings.table_name, settings.redis_url) == (
        "external",
        "t",
        "rediss://c:6379/0",
    )
    # No secret is invented: the lambda role builds no token verifier to use one.
    assert settings.jwt_secret is None and settings.jwks_url is None
    assert lambda_worker.lambda_settings({"INBOXQL_JWT_SECRET": "given"}).jwt_secret == "given"
    with pytest.raises(SettingsError):
        lambda_worker.lambda_settings({"INBOXQL_STACK": "local"})


# --- the sync entry point, configured from the environment like a deployed function ------


@pytest.fixture
def container() -> Iterator[None]:
    """The module-level event loop and clients of one Lambda container, closed afterwards."""
    lambda_worker.reset()
    try:
        yield
    finally:
        lambda_worker.reset()


def test_handler_from_the_environment(
    stack: StackEndpoints,
    session_tag: str,
    monkeypatch: pytest.MonkeyPatch,
    container: None,
) -> None:
    settings = stack_settings(stack, session_tag, queue_name=f"lq-{uuid.uuid4().hex[:12]}")
    alice, bob = new_user("alice"), new_user("bob")
    sent = [a_message(bob, alice, "one"), a_message(bob, alice, "two")]

    async def first_events() -> tuple[dict[str, Any], dict[str, Any]]:
        async with bootstrap(
            settings, stack_endpoints(stack), workers=0, provision=True
        ) as test_app:
            return (
                await sqs_event(test_app, [encode_message(sent[0]), UNDECODABLE]),
                await sqs_event(test_app, [encode_message(sent[1])]),
            )

    first, second = asyncio.run(first_events())

    for name, value in external_env(stack, settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    built: list[tuple[Settings, AwsEndpoints, Role, int, bool]] = []

    def counting_bootstrap(
        settings: Settings,
        endpoints: AwsEndpoints,
        *,
        role: Role,
        workers: int = 0,
        provision: bool = False,
    ) -> AbstractAsyncContextManager[App]:
        built.append((settings, endpoints, role, workers, provision))
        return bootstrap(settings, endpoints, role=role, workers=workers, provision=provision)

    monkeypatch.setattr("services.lambda_worker.bootstrap", counting_bootstrap)

    undecodable = next(r["messageId"] for r in first["Records"] if r["body"] == UNDECODABLE)
    assert lambda_worker.handler(first, None) == {
        "batchItemFailures": [{"itemIdentifier": undecodable}]
    }
    # A warm container: the same clients, and a redelivered record changes nothing.
    second["Records"] += [r for r in first["Records"] if r["body"] != UNDECODABLE]
    assert lambda_worker.handler(second, None) == {"batchItemFailures": []}
    assert len(built) == 1
    used_settings, endpoints, role, workers, provision = built[0]
    assert (used_settings.stack, used_settings.table_name, used_settings.queue_name) == (
        "external",
        settings.table_name,
        settings.queue_name,
    )
    assert (endpoints, role, workers, provision) == (AwsEndpoints(), "lambda", 0, False)

    lambda_worker.reset()  # a new container builds its clients again
    assert lambda_worker.handler({"Records": []}, None) == {"batchItemFailures": []}
    assert len(built) == 2

    async def delivered() -> tuple[list[MessageId], tuple[int, int]]:
        async with bootstrap(
            settings, stack_endpoints(stack), workers=0, provision=False
        ) as test_app:
            return await inbox_ids(test_app, alice), await count_of(test_app, alice)

    assert asyncio.run(delivered()) == (sorted(m.id for m in sent), (2, 2))
