"""The SQS adapters against each local SQS emulator, fauxqs (the local stack's) and moto: round
trip, long polling, batch calls and their limits, visibility and redelivery, the redrive policy
and the dead-letter tools, and the queue attributes behind /metrics and /readyz.

Every test runs once per emulator (ids `[fauxqs]` and `[moto]`). What AWS does is the reference;
where an emulator is known to do otherwise, its case is a strict xfail that says what it does,
so it fails loudly once the emulator is fixed. InboxQL sets no message attributes and never
purges a queue or starts a message move task, so none of those is tested here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.app import App
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.domain import Message, UserId, new_message_id
from services.errors import DependencyUnavailable
from services.local.stack import StackEndpoints
from services.message_codec import encode_message
from services.observability.metrics import PrometheusMetrics
from services.observability.request_ids import request_id_bound
from services.ports import Delivery
from services.settings import SqsEmulator
from services.sqs.consumer import SqsDeliveryConsumer
from services.sqs.dead_letters import DeadLetterQueue
from services.sqs.producer import SqsDeliveryProducer
from services.sqs.provisioning import RETENTION_SECONDS, ensure_queues
from services.sqs.send_batcher import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES
from tests.conftest import CACHE_DIR, stack_settings
from tests.integration import sqs_emulators
from tests.polling import eventually

MIB = 1024 * 1024
# aiohttp warns of a request body over 1 MiB sent as bytes (it may hold the loop a moment);
# only the limit tests send such bodies, and a warning is an error in this suite.
large_requests = pytest.mark.filterwarnings(
    "ignore:Sending a large body directly with raw bytes:ResourceWarning"
)

# --- one run per emulator -------------------------------------------------------------------


class QueueSides:
    """Both adapters on one SQS queue: what the API sends is what a worker receives."""

    def __init__(self, client: Any, url: str, *, batch_linger_seconds: float = 0.0) -> None:
        self.url = url
        self.producer = SqsDeliveryProducer(client, url, batch_linger_seconds=batch_linger_seconds)
        self.consumer = SqsDeliveryConsumer(client, url)

    async def enqueue(self, message: Message) -> None:
        await self.producer.enqueue(message)

    async def receive(self, *, max_messages: int, wait_seconds: int) -> list[Delivery]:
        return await self.consumer.receive(max_messages=max_messages, wait_seconds=wait_seconds)

    async def acknowledge(self, receipts: Sequence[str]) -> None:
        await self.consumer.acknowledge(receipts)

    async def aclose(self) -> None:
        await self.producer.aclose()


@dataclass(frozen=True)
class SqsEndpoint:
    emulator: SqsEmulator
    url: str


@pytest.fixture(scope="session")
def moto_sqs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server, started the way the local stack starts it, once for the session."""
    with sqs_emulators.serving("moto", CACHE_DIR, tmp_path_factory.mktemp("moto-sqs")) as url:
        yield url


@pytest.fixture(scope="module", params=["fauxqs", "moto"])
def sqs_emulator(request: pytest.FixtureRequest, stack: StackEndpoints) -> SqsEndpoint:
    """fauxqs is the session stack's own SQS endpoint; moto is served beside it."""
    emulator: SqsEmulator = request.param
    url = stack.sqs_url if emulator == "fauxqs" else request.getfixturevalue("moto_sqs_url")
    # A run labelled with one emulator must not quietly test the other.
    assert sqs_emulators.emulator_at(url) == emulator, f"{url} is not {emulator}"
    return SqsEndpoint(emulator, url)


@pytest.fixture
async def app(
    stack: StackEndpoints, session_tag: str, sqs_emulator: SqsEndpoint
) -> AsyncIterator[App]:
    """Real adapters, as the conftest's `app` builds them, but on the chosen SQS emulator (and
    the session stack's DynamoDB and Redis). Its own queue; no delivery worker."""
    settings = stack_settings(stack, session_tag, queue_name=f"q-{uuid.uuid4().hex[:12]}")
    endpoints = AwsEndpoints(dynamodb=stack.dynamodb_url, sqs=sqs_emulator.url)
    async with bootstrap(settings, endpoints, workers=0, provision=True) as built:
        yield built


def moto_differs_from_aws(what_moto_does: str) -> pytest.MarkDecorator:
    """Runs the test on both emulators, expecting (strictly) moto's run to fail."""
    return pytest.mark.parametrize(
        "sqs_emulator",
        [
            "fauxqs",
            pytest.param(
                "moto", marks=pytest.mark.xfail(reason=f"moto {what_moto_does}", strict=True)
            ),
        ],
        indirect=True,
    )


# --- helpers --------------------------------------------------------------------------------


def a_message(body: str = "hi") -> Message:
    now = datetime.now(UTC).replace(microsecond=0)
    return Message(new_message_id(now), UserId("bob"), UserId("alice"), body, now)


async def fresh_queue(app: App, *, max_receive_count: int, visibility: int) -> tuple[str, str]:
    name = f"t-{uuid.uuid4().hex[:12]}"
    url = await ensure_queues(
        app.clients.sqs,
        name,
        f"{name}-dlq",
        max_receive_count=max_receive_count,
        visibility_timeout_seconds=visibility,
    )
    dlq_url = (await app.clients.sqs.get_queue_url(QueueName=f"{name}-dlq"))["QueueUrl"]
    return url, dlq_url


async def receive_until(
    queue: QueueSides, count: int, *, deadline_seconds: float = 10
) -> list[Delivery]:
    """Receives (one-second long polls) until `count` came or the deadline passed."""
    received: list[Delivery] = []
    deadline = time.monotonic() + deadline_seconds
    while len(received) < count and time.monotonic() < deadline:
        batch = await queue.receive(max_messages=10, wait_seconds=1)
        assert len(batch) <= 10
        received += batch
    return received


async def raw_receive_until(
    app: App, url: str, count: int, *, visibility: int | None = None
) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    hide = {} if visibility is None else {"VisibilityTimeout": visibility}
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        response = await app.clients.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **hide
        )
        received += response.get("Messages", [])
    assert len(received) == count
    return received


async def bodies_received(app: App, url: str, *, wait_seconds: int) -> list[str]:
    """The bodies one receive (a long poll of `wait_seconds`) returns."""
    response = await app.clients.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    )
    return [str(m["Body"]) for m in response.get("Messages", [])]


async def queue_counts(app: App, url: str) -> tuple[int, int]:
    """(visible, in flight), as /metrics reads them."""
    attributes = (
        await app.clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


async def counts_become(app: App, url: str, expected: tuple[int, int]) -> None:
    """The counts are approximate on AWS (eventually right), so they are polled."""
    seen: list[tuple[int, int]] = []

    async def reached() -> bool:
        seen.append(await queue_counts(app, url))
        return seen[-1] == expected

    await eventually(
        reached,
        lambda: f"queue counts {expected}, last {seen[-1] if seen else None}",
        timeout=10,
        interval=0.1,
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def queue_name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- round trip, redelivery, dead-lettering -------------------------------------------------


async def test_round_trip_and_acknowledge(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url)
    sent = [a_message(f"m{i}") for i in range(12)]
    for m in sent:
        await queue.enqueue(m)
    received = await receive_until(queue, len(sent))
    assert sorted(d.message.id for d in received if d.message) == sorted(m.id for m in sent)
    assert all(d.receive_count == 1 for d in received)
    await queue.acknowledge([d.receipt for d in received])
    assert await queue.receive(max_messages=10, wait_seconds=0) == []
    assert await queue_counts(app, url) == (0, 0)


async def test_unacknowledged_message_comes_back(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=1)
    queue = QueueSides(app.clients.sqs, url)
    sent = a_message()
    await queue.enqueue(sent)
    first = await queue.receive(max_messages=1, wait_seconds=2)
    assert [d.message for d in first] == [sent]
    again = await receive_until(queue, 1)
    assert [d.message for d in again] == [sent]
    assert again[0].receive_count == 2


async def test_a_received_message_stays_hidden_for_the_visibility_timeout(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=3)
    queue = QueueSides(app.clients.sqs, url)
    sent = a_message()
    await queue.enqueue(sent)
    first = await queue.receive(max_messages=10, wait_seconds=2)
    received_at = time.monotonic()
    assert [d.message for d in first] == [sent]
    # A whole long poll inside the 3 s: the message must not show.
    assert await queue.receive(max_messages=10, wait_seconds=1) == []
    assert await queue_counts(app, url) == (0, 1)
    again = await receive_until(queue, 1)
    assert [d.message for d in again] == [sent]
    assert time.monotonic() - received_at >= 2.5  # not before its visibility timeout ran out
    assert again[0].receive_count == 2


async def test_poison_message_moves_to_dead_letter_queue(app: App) -> None:
    url, dlq_url = await fresh_queue(app, max_receive_count=2, visibility=1)
    queue = QueueSides(app.clients.sqs, url)
    await app.clients.sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    seen: list[Delivery] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen += await queue.receive(max_messages=1, wait_seconds=1)
        # The DLQ's own long poll paces the loop.
        dead = await app.clients.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)
        if dead.get("Messages"):
            assert [m["Body"] for m in dead["Messages"]] == ["not json at all"]
            break
    else:
        raise AssertionError("the poison message never reached the dead-letter queue")
    assert all(d.message is None for d in seen)
    # Received exactly maxReceiveCount times, counted as such, then moved: not before, not after.
    assert [d.receive_count for d in seen] == [1, 2]
    assert await queue.receive(max_messages=10, wait_seconds=1) == []
    assert await queue_counts(app, url) == (0, 0)


async def test_queues_are_provisioned_with_a_redrive_policy_naming_the_dead_letter_queue(
    app: App,
) -> None:
    url, dlq_url = await fresh_queue(app, max_receive_count=4, visibility=7)
    name = queue_name_of(url)
    attributes = (
        await app.clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "QueueArn",
                "RedrivePolicy",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
            ],
        )
    )["Attributes"]
    dlq_arn = (
        await app.clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    )["Attributes"]["QueueArn"]
    region = re.escape(app.settings.aws_region)
    assert re.fullmatch(rf"arn:aws:sqs:{region}:\d{{12}}:{re.escape(name)}", attributes["QueueArn"])
    assert re.fullmatch(rf"arn:aws:sqs:{region}:\d{{12}}:{re.escape(name)}-dlq", dlq_arn)
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == dlq_arn
    assert int(policy["maxReceiveCount"]) == 4
    assert attributes["VisibilityTimeout"] == "7"
    assert attributes["MessageRetentionPeriod"] == str(RETENTION_SECONDS)


# --- long polling ---------------------------------------------------------------------------


async def test_a_long_poll_wakes_when_a_message_is_sent(app: App) -> None:
    # app.clients.sqs reads for 5 s at most (the worker's own client waits longer): a 4 s poll fits.
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url)
    poll = asyncio.create_task(queue.receive(max_messages=10, wait_seconds=4))
    done, _ = await asyncio.wait({poll}, timeout=1)
    assert not done, "a long poll of an empty queue answered at once"
    sent = a_message()
    await queue.enqueue(sent)
    sent_at = time.monotonic()
    received = await asyncio.wait_for(poll, 5)
    assert [d.message for d in received] == [sent]
    # The poll had about 3 s left: it answered on the send, not at the end of its wait.
    assert time.monotonic() - sent_at < 2


async def test_a_long_poll_of_an_empty_queue_answers_empty_after_the_wait(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url)
    started = time.monotonic()
    assert await queue.receive(max_messages=10, wait_seconds=2) == []
    waited = time.monotonic() - started
    assert 1.8 <= waited < 4.5, f"a 2 s long poll answered after {waited:.2f} s"


# --- batch limits ---------------------------------------------------------------------------


async def test_a_batch_of_eleven_messages_is_refused_whole(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(MAX_BATCH_ENTRIES + 1)]
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert error_code(refused.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    ok = await app.clients.sqs.send_message_batch(QueueUrl=url, Entries=entries[:MAX_BATCH_ENTRIES])
    assert len(ok["Successful"]) == MAX_BATCH_ENTRIES
    assert not ok.get("Failed")
    await counts_become(app, url, (MAX_BATCH_ENTRIES, 0))  # the refused call sent nothing


@moto_differs_from_aws("deletes all 11 entries of a DeleteMessageBatch call; AWS refuses it")
async def test_a_delete_batch_of_eleven_is_refused_and_acknowledge_sends_tens(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url)
    for i in range(11):
        await queue.enqueue(a_message(f"m{i}"))
    received = await receive_until(queue, 11)
    assert len(received) == 11
    receipts = [d.receipt for d in received]
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts)],
        )
    assert error_code(refused.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert await queue_counts(app, url) == (0, 11)  # nothing deleted
    await queue.acknowledge(receipts)  # in calls of ten and one
    await counts_become(app, url, (0, 0))


@moto_differs_from_aws("applies all 11 entries of a ChangeMessageVisibilityBatch; AWS refuses it")
async def test_a_visibility_batch_of_eleven_is_refused(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    for i in range(11):
        await app.clients.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    received = await raw_receive_until(app, url, 11)
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(received)
            ],
        )
    assert error_code(refused.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert await queue_counts(app, url) == (0, 11)  # none made visible


async def test_a_receive_takes_at_most_ten_messages(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url)
    sent = [a_message(f"m{i}") for i in range(15)]
    for m in sent:
        await queue.enqueue(m)
    first = await queue.receive(max_messages=10, wait_seconds=1)
    assert 1 <= len(first) <= 10
    received = first + await receive_until(queue, len(sent) - len(first))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in sent)
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    # AWS answers "InvalidParameterValue"; fauxqs "AWS.SimpleQueueService.InvalidParameterValue".
    # InboxQL never reads this code (it never asks for more than ten).
    assert error_code(refused.value).removeprefix("AWS.SimpleQueueService.") == (
        "InvalidParameterValue"
    )
    assert "MaxNumberOfMessages" in str(refused.value)


@large_requests
async def test_batch_bodies_may_sum_to_one_mebibyte_and_no_more(app: App) -> None:
    # The batcher keeps each call's bodies within MAX_BATCH_BYTES (256 KiB, the limit until
    # August 2025); AWS's limit is 1 MiB now, and one byte over refuses the whole call.
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    quarter = MAX_BATCH_BYTES // 4
    at_the_batchers_limit = [{"Id": str(i), "MessageBody": "x" * quarter} for i in range(4)]
    ok = await app.clients.sqs.send_message_batch(QueueUrl=url, Entries=at_the_batchers_limit)
    assert sorted(s["Id"] for s in ok["Successful"]) == ["0", "1", "2", "3"]
    assert not ok.get("Failed")
    at_aws_limit = [
        {"Id": "0", "MessageBody": "x" * (MIB - 1)},
        {"Id": "1", "MessageBody": "x"},
    ]
    ok = await app.clients.sqs.send_message_batch(QueueUrl=url, Entries=at_aws_limit)
    assert sorted(s["Id"] for s in ok["Successful"]) == ["0", "1"]
    over = [{"Id": "0", "MessageBody": "x" * (MIB - 1)}, {"Id": "1", "MessageBody": "xx"}]
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.send_message_batch(QueueUrl=url, Entries=over)
    # The adapter knows this code as a refusal for content (it then sends each alone).
    assert error_code(refused.value) == "AWS.SimpleQueueService.BatchRequestTooLong"
    await counts_become(app, url, (6, 0))


@large_requests
async def test_a_body_may_be_one_mebibyte_and_no_more(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    for size in (256 * 1024 + 1, MIB):
        await app.clients.sqs.send_message(QueueUrl=url, MessageBody="x" * size)
    with pytest.raises(ClientError) as refused:
        await app.clients.sqs.send_message(QueueUrl=url, MessageBody="x" * (MIB + 1))
    assert error_code(refused.value).removeprefix("AWS.SimpleQueueService.") == (
        "InvalidParameterValue"
    )
    await counts_become(app, url, (2, 0))


@moto_differs_from_aws(
    "refuses the whole SendMessageBatch call for one entry longer than the queue's "
    "MaximumMessageSize (InvalidParameterValue); AWS fails only that entry"
)
async def test_sqs_fails_only_the_batch_entry_longer_than_the_queue_allows(app: App) -> None:
    created = await app.clients.sqs.create_queue(
        QueueName=f"t-{uuid.uuid4().hex[:12]}", Attributes={"MaximumMessageSize": "1024"}
    )
    response = await app.clients.sqs.send_message_batch(
        QueueUrl=created["QueueUrl"],
        Entries=[
            {"Id": "fits", "MessageBody": "a" * 1024},
            {"Id": "too-long", "MessageBody": "a" * 1025},
        ],
    )
    assert [s["Id"] for s in response["Successful"]] == ["fits"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in response["Failed"]] == [
        ("too-long", "InvalidParameterValue", True)
    ]


# --- visibility changes ---------------------------------------------------------------------


async def test_changing_visibility_shows_messages_again_at_once(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    for i in range(4):
        await app.clients.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    held = {m["Body"]: m["ReceiptHandle"] for m in await raw_receive_until(app, url, 4)}
    changed = await app.clients.sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "ReceiptHandle": held["m0"], "VisibilityTimeout": 0},
            {"Id": "1", "ReceiptHandle": held["m1"], "VisibilityTimeout": 0},
            {"Id": "2", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 0},
        ],
    )
    assert sorted(s["Id"] for s in changed["Successful"]) == ["0", "1"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in changed["Failed"]] == [
        ("2", "ReceiptHandleIsInvalid", True)
    ]
    await app.clients.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=held["m2"], VisibilityTimeout=0
    )
    back = await raw_receive_until(app, url, 3)
    assert sorted(m["Body"] for m in back) == ["m0", "m1", "m2"]
    # m3 is still hidden for its 30 s.
    assert (await app.clients.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)).get(
        "Messages", []
    ) == []


async def test_changing_visibility_keeps_a_message_hidden_longer(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=1)
    await app.clients.sqs.send_message(QueueUrl=url, MessageBody="slow")
    [held] = await raw_receive_until(app, url, 1)
    await app.clients.sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": "0", "ReceiptHandle": held["ReceiptHandle"], "VisibilityTimeout": 30}],
    )
    # Without the change it would show again after 1 s, inside this 2 s long poll.
    assert (await app.clients.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)).get(
        "Messages", []
    ) == []
    assert await queue_counts(app, url) == (0, 1)


# --- the dead-letter tools (services/sqs/dead_letters.py) ---------------------------------------


async def test_peek_leaves_dead_letters_in_place_and_redrive_sends_them_back(app: App) -> None:
    url, dlq_url = await fresh_queue(app, max_receive_count=5, visibility=30)
    dead = DeadLetterQueue(app.clients.sqs, dlq_url, url)
    messages = [a_message(f"dead {i}") for i in range(11)]
    bodies = [encode_message(m) for m in messages] + ["not json at all"]
    for offset in range(0, len(bodies), 10):
        await app.clients.sqs.send_message_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[offset : offset + 10])
            ],
        )
    sent_at = datetime.now(UTC)

    listed = await dead.peek()
    assert sorted(letter.body for letter in listed) == sorted(bodies)
    assert sorted(letter.message.id for letter in listed if letter.message) == sorted(
        m.id for m in messages
    )
    assert [letter.body for letter in listed if letter.message is None] == ["not json at all"]
    assert all(letter.receive_count == 1 for letter in listed)
    for letter in listed:
        assert letter.sent_at is not None
        assert abs(letter.sent_at - sent_at) < timedelta(minutes=1)
    # Hidden for 30 s while listing, then made visible again (ChangeMessageVisibilityBatch).
    assert await queue_counts(app, dlq_url) == (12, 0)

    again = await dead.peek()
    assert {letter.queue_message_id for letter in again} == {
        letter.queue_message_id for letter in listed
    }
    assert all(letter.receive_count == 2 for letter in again)

    assert await dead.redrive() == 12
    await counts_become(app, dlq_url, (0, 0))
    redriven = await raw_receive_until(app, url, 12)
    assert Counter(m["Body"] for m in redriven) == Counter(bodies)


# --- the attributes behind /metrics and /readyz ---------------------------------------------


async def test_metrics_read_the_visible_and_in_flight_counts(app: App) -> None:
    for i in range(5):
        await app.producer.enqueue(a_message(f"m{i}"))
    receiver = QueueSides(app.clients.sqs, app.clients.queue_url)
    taken: list[Delivery] = []
    deadline = time.monotonic() + 10
    while len(taken) < 2 and time.monotonic() < deadline:
        taken += await receiver.receive(max_messages=2 - len(taken), wait_seconds=1)
    assert len(taken) == 2
    await counts_become(app, app.clients.queue_url, (3, 2))

    metrics = PrometheusMetrics()
    await dataclasses.replace(app.probes, metrics=metrics).measure_queues()

    def gauge(queue: str, state: str) -> float | None:
        labels = {"queue": queue, "state": state}
        return metrics.registry.get_sample_value("inboxql_queue_messages", labels)

    assert (gauge("delivery", "visible"), gauge("delivery", "in_flight")) == (3.0, 2.0)
    # The session's dead-letter queue is shared: measured, whatever it holds.
    for state in ("visible", "in_flight"):
        value = gauge("dead_letter", state)
        assert value is not None
        assert math.isfinite(value)
        assert value >= 0

    await receiver.acknowledge([d.receipt for d in taken])
    await counts_become(app, app.clients.queue_url, (3, 0))


async def test_readiness_sees_the_queue_and_its_loss(app: App) -> None:
    assert await app.probes.readiness() == {"dynamodb": True, "sqs": True, "redis": True}
    await app.clients.sqs.delete_queue(QueueUrl=app.clients.queue_url)
    seen: list[dict[str, bool]] = []

    async def sqs_lost() -> bool:
        seen.append(await app.probes.readiness())
        return not seen[-1]["sqs"]

    await eventually(sqs_lost, "readiness to stop reporting SQS ready", timeout=10, interval=0.1)
    assert seen[-1] == {"dynamodb": True, "sqs": False, "redis": True}


# --- sends batched: concurrent enqueues share SendMessageBatch calls ---------------------------


class SqsCalls:
    """The SQS requests a real client makes, seen through botocore's own event hooks (which the
    lean path, services/sqs/lean_client.py, runs as the client does)."""

    def __init__(self, client: Any) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        # What each SendMessageBatch call answered: its result, or {"Error": ...}.
        self.batch_answers: list[dict[str, Any]] = []
        self.singles = 0
        self._events = client.meta.events
        self._events.register("before-call.sqs.SendMessageBatch", self._batch)
        self._events.register("after-call.sqs.SendMessageBatch", self._batch_answer)
        self._events.register("before-call.sqs.SendMessage", self._single)

    def _batch(self, params: dict[str, Any], **_: Any) -> None:
        # The request as it goes on the wire: the JSON protocol's body.
        self.batches.append(list(json.loads(params["body"])["Entries"]))

    def _batch_answer(self, parsed: dict[str, Any], **_: Any) -> None:
        self.batch_answers.append(parsed)

    def _single(self, **_: Any) -> None:
        self.singles += 1

    def close(self) -> None:
        self._events.unregister("before-call.sqs.SendMessageBatch", self._batch)
        self._events.unregister("after-call.sqs.SendMessageBatch", self._batch_answer)
        self._events.unregister("before-call.sqs.SendMessage", self._single)


@contextlib.asynccontextmanager
async def batching_queue(app: App, url: str) -> AsyncIterator[tuple[QueueSides, SqsCalls]]:
    calls = SqsCalls(app.clients.sqs)
    # Longer than a test needs, shorter than any deadline: concurrent sends join full batches.
    queue = QueueSides(app.clients.sqs, url, batch_linger_seconds=0.05)
    try:
        yield queue, calls
    finally:
        await queue.aclose()
        calls.close()


async def drain(queue: QueueSides, expected: int) -> list[Delivery]:
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
    # A body longer than the queue allows: AWS (and fauxqs) fail that entry alone in the batch
    # call's answer; moto refuses the whole call, and the adapter then sends each alone. Either
    # way only that body's sender fails, and every other message goes, once.
    name = f"t-{uuid.uuid4().hex[:12]}"
    created = await app.clients.sqs.create_queue(
        QueueName=name, Attributes={"MaximumMessageSize": "1024"}
    )
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
        [answer] = calls.batch_answers
        if "Error" in answer:  # the whole call refused
            assert answer["Error"]["Code"] == "InvalidParameterValue"
            assert calls.singles == 10  # the refused call, sent again one by one
        else:  # the entry refused: the fifth to join the batch
            assert [(f["Id"], f["Code"]) for f in answer["Failed"]] == [
                ("4", "InvalidParameterValue")
            ]
            assert len(answer["Successful"]) == 9
            assert calls.singles == 0
            assert "InvalidParameterValue" in refused.message
        received = await drain(queue, len(fine))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in fine)


@moto_differs_from_aws(
    "accepts a body with U+FFFF, which AWS refuses (InvalidMessageContents): on moto a body "
    "AWS would refuse goes through"
)
async def test_a_body_with_a_character_sqs_refuses_fails_only_its_own_enqueue(app: App) -> None:
    # SQS takes #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF only. The JSON payload
    # escapes control characters but keeps U+FFFE and U+FFFF as they are.
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    fine = [a_message(f"m{i}") for i in range(3)]
    refusable = a_message("a noncharacter: \uffff")
    async with batching_queue(app, url) as (queue, calls):
        results = await asyncio.gather(
            *(queue.enqueue(m) for m in [fine[0], refusable, *fine[1:]]),
            return_exceptions=True,
        )
        refused = results.pop(1)
        assert isinstance(refused, DependencyUnavailable)
        assert "InvalidMessageContents" in refused.message
        assert results == [None] * 3
        assert [len(entries) for entries in calls.batches] == [4]
        received = await drain(queue, len(fine))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in fine)


async def test_closing_the_queue_sends_what_waits_for_a_batch(app: App) -> None:
    url, _ = await fresh_queue(app, max_receive_count=5, visibility=30)
    queue = QueueSides(app.clients.sqs, url, batch_linger_seconds=3600)
    sent = [a_message(f"m{i}") for i in range(3)]
    waiting = [asyncio.create_task(queue.enqueue(m)) for m in sent]
    batcher = queue.producer._batcher
    assert batcher is not None

    def joined() -> int:
        batch = batcher._open
        return 0 if batch is None else len(batch.entries)

    await eventually(lambda: joined() == len(sent), "the three to join one batch")
    assert not any(task.done() for task in waiting)
    await asyncio.wait_for(queue.aclose(), 10)
    await asyncio.wait_for(asyncio.gather(*waiting), 10)
    received = await drain(queue, len(sent))
    assert Counter(d.message.id for d in received if d.message) == Counter(m.id for m in sent)
