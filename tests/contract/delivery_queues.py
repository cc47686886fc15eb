"""The two delivery queues the contract suite holds to one behaviour: `FakeDeliveryQueue` (both
sides in one object) and the SQS adapters (`SqsDeliveryProducer`, `SqsDeliveryConsumer`) on the
local stack's default SQS emulator, each case on a fresh queue and dead-letter queue. Only the
SQS factory needs the session's stack, so a fake-only run starts nothing."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiobotocore.config import AioConfig

from services.aws import AwsEndpoints, aws_session, client_config
from services.local.stack import StackEndpoints
from services.ports import DeliveryConsumer, DeliveryProducer
from services.settings import Settings
from services.sqs.provisioning import ensure_queues
from tests.fakes import FakeDeliveryQueue
from tests.integration import sqs_emulators
from tests.integration.test_sqs_queue import QueueSides

# Short, so that a redelivery shows within a case; the fake is told instead (see below).
VISIBILITY_TIMEOUT_SECONDS = 2
# Past every receive count a case reaches: nothing is dead-lettered under a case's feet.
MAX_RECEIVE_COUNT = 10
# The longest `wait_seconds` a case asks for; the SQS client's read timeout outlasts it.
LONGEST_WAIT_SECONDS = 6
# A payload the codec cannot decode (not JSON), as a foreign or corrupted sender would put.
UNDECODABLE_BODY = "not json at all"


async def _nothing_to_do() -> None:
    return None


class QueueUnderTest:
    """A delivery queue's two sides, typed by the ports, and what a case needs beyond them:

    - `let_visibility_lapse()`: the visibility timeout of everything in flight runs out, as far
      as the queue can be told so. The fake is told (`expire_in_flight`); SQS cannot be, its
      timeout runs on the wall clock, so a case then polls for what comes back, bounded by
      `redelivery_deadline_seconds`;
    - `put_undecodable()`: a queue message whose payload is not a message."""

    def __init__(
        self,
        name: str,
        producer: DeliveryProducer,
        consumer: DeliveryConsumer,
        *,
        let_visibility_lapse: Callable[[], Awaitable[None]],
        put_undecodable: Callable[[], Awaitable[None]],
        redelivery_deadline_seconds: float,
    ) -> None:
        self.name = name
        self.producer = producer
        self.consumer = consumer
        self._lapse = let_visibility_lapse
        self._undecodable = put_undecodable
        self.redelivery_deadline_seconds = redelivery_deadline_seconds

    async def let_visibility_lapse(self) -> None:
        await self._lapse()

    async def put_undecodable(self) -> None:
        await self._undecodable()


@contextlib.asynccontextmanager
async def fake_queue() -> AsyncIterator[QueueUnderTest]:
    fake = FakeDeliveryQueue()

    async def lapse() -> None:
        fake.expire_in_flight()

    async def undecodable() -> None:
        fake.push_undecodable()

    yield QueueUnderTest(
        "fake",
        fake,
        fake,
        let_visibility_lapse=lapse,
        put_undecodable=undecodable,
        # Told, the fake shows redeliveries on the next receive; a second is plenty.
        redelivery_deadline_seconds=1,
    )


@contextlib.asynccontextmanager
async def sqs_queue(stack: StackEndpoints) -> AsyncIterator[QueueUnderTest]:
    """The SQS adapters on the stack's SQS (whichever emulator it runs), on a queue and DLQ of
    their own, deleted afterwards. Enqueues are sent one by one (no batch linger)."""
    settings = Settings.from_env()
    emulator = sqs_emulators.emulator_at(stack.sqs_url)
    # The stack starts the emulator the settings name: a run labelled by it is one.
    assert emulator == settings.sqs_emulator, f"{stack.sqs_url} is {emulator}"
    # A long poll holds its connection: the read budget must outlast the longest wait.
    config = client_config(settings).merge(
        AioConfig(read_timeout=LONGEST_WAIT_SECONDS + settings.read_timeout_seconds)
    )
    session = aws_session(settings, AwsEndpoints(sqs=stack.sqs_url))
    async with session.client("sqs", endpoint_url=stack.sqs_url, config=config) as client:
        name = f"contract-{uuid.uuid4().hex[:12]}"
        url = await ensure_queues(
            client,
            name,
            f"{name}-dlq",
            max_receive_count=MAX_RECEIVE_COUNT,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        )
        dlq_url = (await client.get_queue_url(QueueName=f"{name}-dlq"))["QueueUrl"]
        sides = QueueSides(client, url, batch_linger_seconds=0)

        async def undecodable() -> None:
            await client.send_message(QueueUrl=url, MessageBody=UNDECODABLE_BODY)

        try:
            yield QueueUnderTest(
                f"sqs ({emulator})",
                sides.producer,
                sides.consumer,
                let_visibility_lapse=_nothing_to_do,
                put_undecodable=undecodable,
                # The visibility timeout, and room for an emulator's timer and a loaded machine.
                redelivery_deadline_seconds=VISIBILITY_TIMEOUT_SECONDS + 10,
            )
        finally:
            await sides.aclose()
            await client.delete_queue(QueueUrl=url)
            await client.delete_queue(QueueUrl=dlq_url)
