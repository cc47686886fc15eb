"""What every delivery queue promises the API and the worker, held of `FakeDeliveryQueue` and of
the SQS adapters on the local stack's SQS alike (the `queue` fixture runs each case on both):
what is enqueued is received once, as it was sent; a receive returns at most `max_messages`;
an unacknowledged delivery comes back after the visibility timeout, counted, and an
acknowledged one never does; a long poll answers as soon as there is something to answer.

Order is not part of the contract (a standard SQS queue does not keep it), so cases compare
what came as counts of message ids. Where the fake and SQS differ, the case is a strict xfail
on the side that differs, saying what it does."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from services.domain import Message, MessageId, UserId, new_message_id, to_millisecond
from services.observability.request_ids import request_id_bound
from services.ports import Delivery
from services.settings import Settings
from tests.conftest import new_user
from tests.contract.delivery_queues import (
    LONGEST_WAIT_SECONDS,
    QueueUnderTest,
    fake_queue,
    sqs_queue,
)

# How long a case waits for what was enqueued before it (not a redelivery) to be received.
ARRIVAL_DEADLINE_SECONDS = 10.0


@pytest.fixture(params=["fake", "sqs"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[QueueUnderTest]:
    # Only the SQS case asks for the session's stack: `-k fake` starts nothing.
    factory = (
        fake_queue() if request.param == "fake" else sqs_queue(request.getfixturevalue("stack"))
    )
    async with factory as under_test:
        yield under_test


def fake_differs(what_the_fake_does: str) -> pytest.MarkDecorator:
    """Runs the case on both queues, expecting (strictly) the fake's run to fail."""
    return pytest.mark.parametrize(
        "queue",
        [
            pytest.param(
                "fake",
                marks=pytest.mark.xfail(strict=True, reason=f"the fake {what_the_fake_does}"),
            ),
            "sqs",
        ],
        indirect=True,
    )


def fauxqs_differs(what_fauxqs_does: str) -> pytest.MarkDecorator:
    """Runs the case on both queues, expecting (strictly) the SQS run to fail when the stack's
    SQS is fauxqs: a case where the fake does what AWS does and that emulator does not."""
    on_fauxqs = Settings.from_env().sqs_emulator == "fauxqs"
    return pytest.mark.parametrize(
        "queue",
        [
            "fake",
            pytest.param(
                "sqs",
                marks=pytest.mark.xfail(
                    on_fauxqs, strict=True, reason=f"fauxqs {what_fauxqs_does}"
                ),
            ),
        ],
        indirect=True,
    )


# --- helpers --------------------------------------------------------------------------------


def a_message(body: str = "hi", *, sent_at: datetime | None = None) -> Message:
    """A message as the API accepts one: its time to the millisecond, its id made from it."""
    at = to_millisecond(datetime.now(UTC)) if sent_at is None else sent_at
    sender, recipient = UserId(new_user("bob")), UserId(new_user("alice"))
    return Message(new_message_id(at), sender, recipient, body, at)


async def receive_batches(
    queue: QueueUnderTest, count: int, *, max_messages: int = 10, deadline_seconds: float
) -> list[list[Delivery]]:
    """Receives (one-second long polls) until `count` deliveries came or the deadline passed;
    every receive's answer, as it came."""
    batches: list[list[Delivery]] = []
    deadline = time.monotonic() + deadline_seconds
    while sum(map(len, batches)) < count and time.monotonic() < deadline:
        batches.append(await queue.consumer.receive(max_messages=max_messages, wait_seconds=1))
    return batches


async def receive_until(
    queue: QueueUnderTest, count: int, *, deadline_seconds: float = ARRIVAL_DEADLINE_SECONDS
) -> list[Delivery]:
    batches = await receive_batches(queue, count, deadline_seconds=deadline_seconds)
    return [delivery for batch in batches for delivery in batch]


def ids_of(deliveries: Sequence[Delivery]) -> Counter[MessageId | None]:
    return Counter(d.message.id if d.message is not None else None for d in deliveries)


async def enqueue_all(queue: QueueUnderTest, messages: Sequence[Message]) -> None:
    for message in messages:
        await queue.producer.enqueue(message)


# --- the round trip -------------------------------------------------------------------------


async def test_what_is_enqueued_is_received_once_as_it_was_sent(queue: QueueUnderTest) -> None:
    # Milliseconds that a round trip through seconds (or through a float) would lose, and a body
    # the JSON payload must escape.
    sent_at = datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC)
    sent = a_message('héllo "there" \\ \n\t <&> ünïcödé', sent_at=sent_at)
    await queue.producer.enqueue(sent)
    [delivery] = await receive_until(queue, 1)
    assert delivery.message == sent  # ids, sender, recipient, body and sent_at, all of them
    assert delivery.message is not None
    assert delivery.message.sent_at == sent_at
    assert delivery.message.sent_at.utcoffset() is not None
    assert delivery.receive_count == 1
    assert delivery.receipt
    assert delivery.request_id is None  # enqueued outside any request
    # Once: while it is in flight, no one else receives it.
    assert await queue.consumer.receive(max_messages=10, wait_seconds=0) == []


async def test_each_of_many_messages_is_received_once(queue: QueueUnderTest) -> None:
    sent = [a_message(f"m{i}") for i in range(15)]
    await enqueue_all(queue, sent)
    received = await receive_until(queue, len(sent))
    assert ids_of(received) == Counter(m.id for m in sent)
    assert {d.message.id: d.message for d in received if d.message} == {m.id: m for m in sent}
    assert len({d.receipt for d in received}) == len(sent)
    assert all(d.receive_count == 1 for d in received)
    assert await queue.consumer.receive(max_messages=10, wait_seconds=0) == []


@fauxqs_differs(
    "refuses a body with a character beyond U+FFFF (InvalidMessageContents: it allows "
    "#x20-#xD7FF and #xE000-#xFFFD only), which AWS and moto take (#x10000-#x10FFFF): on the "
    "local stack, enqueueing a message with an emoji fails"
)
async def test_a_body_beyond_the_basic_multilingual_plane_is_received_as_sent(
    queue: QueueUnderTest,
) -> None:
    sent = a_message("emoji 👋 and a CJK extension B character 𠀀")
    await queue.producer.enqueue(sent)
    assert [d.message for d in await receive_until(queue, 1)] == [sent]


@fake_differs(
    "drops the request id: its Delivery.request_id is always None, where the SQS producer "
    "puts the current request id in the payload and the consumer hands it back"
)
async def test_the_request_id_it_was_enqueued_under_comes_with_it(queue: QueueUnderTest) -> None:
    first, second = a_message("one"), a_message("two")
    with request_id_bound("req-contract-1"):
        await queue.producer.enqueue(first)
    with request_id_bound("req-contract-2"):
        await queue.producer.enqueue(second)
    received = await receive_until(queue, 2)
    assert sorted((d.message.body, d.request_id) for d in received if d.message) == [
        ("one", "req-contract-1"),
        ("two", "req-contract-2"),
    ]


async def test_a_payload_that_is_no_message_is_delivered_without_one(
    queue: QueueUnderTest,
) -> None:
    await queue.put_undecodable()
    [delivery] = await receive_until(queue, 1)
    assert delivery.message is None
    assert delivery.request_id is None
    assert delivery.receive_count == 1
    assert delivery.receipt


# --- max_messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("max_messages", [1, 4, 10])  # 10 is SQS's largest
async def test_a_receive_returns_at_most_max_messages(
    queue: QueueUnderTest, max_messages: int
) -> None:
    sent = [a_message(f"m{i}") for i in range(11)]  # more than any one receive may return
    await enqueue_all(queue, sent)
    batches = await receive_batches(
        queue, len(sent), max_messages=max_messages, deadline_seconds=ARRIVAL_DEADLINE_SECONDS
    )
    assert [len(b) for b in batches if len(b) > max_messages] == []
    assert len(batches) >= -(-len(sent) // max_messages)
    received = [d for batch in batches for d in batch]
    assert ids_of(received) == Counter(m.id for m in sent)


# --- visibility, redelivery, acknowledgement ------------------------------------------------


async def test_an_unacknowledged_delivery_comes_back_with_a_higher_receive_count(
    queue: QueueUnderTest,
) -> None:
    sent = a_message()
    await queue.producer.enqueue(sent)
    [first] = await receive_until(queue, 1)
    assert (first.message, first.receive_count) == (sent, 1)
    # Not at once: it is in flight until its visibility timeout runs out.
    assert await queue.consumer.receive(max_messages=10, wait_seconds=0) == []
    await queue.let_visibility_lapse()
    again = await receive_until(queue, 1, deadline_seconds=queue.redelivery_deadline_seconds)
    assert [(d.message, d.receive_count) for d in again] == [(sent, 2)]
    assert again[0].receipt != first.receipt  # each receive hands out its own receipt


async def test_an_acknowledged_delivery_never_comes_back(queue: QueueUnderTest) -> None:
    await queue.consumer.acknowledge([])  # nothing to acknowledge is no error
    sent = [a_message(f"m{i}") for i in range(12)]
    await enqueue_all(queue, sent)
    received = await receive_until(queue, len(sent))
    assert ids_of(received) == Counter(m.id for m in sent)
    *acknowledged, kept = received
    # More receipts than SQS deletes in one call (10), in one acknowledge.
    await queue.consumer.acknowledge([d.receipt for d in acknowledged])
    await queue.let_visibility_lapse()
    # The one left unacknowledged was received last, so once it is back, the visibility timeout
    # of every acknowledged one has run out too: any of them would be back by now.
    back = await receive_until(queue, 1, deadline_seconds=queue.redelivery_deadline_seconds)
    assert [(d.message, d.receive_count) for d in back] == [(kept.message, 2)]
    # One more poll (1 s, inside the visibility timeout of the one back) for a straggler.
    assert await queue.consumer.receive(max_messages=10, wait_seconds=1) == []
    await queue.consumer.acknowledge([back[0].receipt])
    await queue.let_visibility_lapse()
    assert await queue.consumer.receive(max_messages=10, wait_seconds=1) == []


# --- long polls and empty queues ------------------------------------------------------------


async def test_a_long_poll_answers_as_soon_as_a_message_is_enqueued(
    queue: QueueUnderTest,
) -> None:
    poll = asyncio.create_task(
        queue.consumer.receive(max_messages=10, wait_seconds=LONGEST_WAIT_SECONDS)
    )
    try:
        # A fixed wait, unavoidable to show the poll does NOT answer an empty queue at once
        # (and that it is under way when the message comes).
        done, _ = await asyncio.wait({poll}, timeout=1)
        assert not done, f"a long poll of an empty queue answered at once: {poll.result()}"
        sent = a_message()
        await queue.producer.enqueue(sent)
        # About 5 s of the poll's wait are left: answering within 3 s, it answered the enqueue.
        done, _ = await asyncio.wait({poll}, timeout=LONGEST_WAIT_SECONDS - 3)
        assert done, "the long poll did not answer the enqueue"
        assert [(d.message, d.receive_count) for d in poll.result()] == [(sent, 1)]
    finally:
        poll.cancel()


async def test_receiving_from_an_empty_queue_without_waiting_returns_nothing_at_once(
    queue: QueueUnderTest,
) -> None:
    started = time.monotonic()
    assert await queue.consumer.receive(max_messages=10, wait_seconds=0) == []
    waited = time.monotonic() - started
    assert waited < 1.5, f"a receive with wait_seconds=0 took {waited:.2f} s"


async def test_a_long_poll_of_an_empty_queue_returns_nothing_after_its_wait(
    queue: QueueUnderTest,
) -> None:
    started = time.monotonic()
    assert await queue.consumer.receive(max_messages=10, wait_seconds=2) == []
    waited = time.monotonic() - started
    assert 1.8 <= waited < 4.5, f"a 2 s long poll answered after {waited:.2f} s"
