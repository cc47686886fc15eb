"""The composition root: builds every client and service from settings, and owns their lifetime.

The server's lifespan, the `worker` command and the tests all enter `bootstrap()`; nothing else
creates a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from services.aws import AwsEndpoints, aws_session, client_config
from services.delivery import DeliveryWorker
from services.dynamodb.provisioning import ensure_table
from services.dynamodb.store import DynamoMessageStore
from services.inbox import InboxService
from services.observability.metrics import NO_METRICS, Metrics, QueueName
from services.redis.clients import RedisClient, redis_clients
from services.redis.event_hub import RedisEventHub
from services.redis.message_cache import RedisMessageCache
from services.redis.persisted_queries import PersistedQueryStore, RedisPersistedQueryStore
from services.redis.send_rate_limit import NoSendLimit, SendRateLimiter, send_rate_limiter
from services.settings import Settings
from services.sqs.provisioning import ensure_queues
from services.sqs.queue import SqsDeliveryQueue
from services.tokens.verified_tokens import VerifiedTokens
from services.tokens.verifiers import TokenVerifier, token_verifier

log = logging.getLogger("inboxql.bootstrap")

READY_TIMEOUT_SECONDS = 2.0
# A scrape must answer even when SQS does not; a queue not measured in time reads as NaN.
QUEUE_MEASURE_TIMEOUT_SECONDS = 1.0
QUEUE_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]


@dataclass
class App:
    settings: Settings
    inbox: InboxService
    tokens: TokenVerifier
    store: DynamoMessageStore
    queue: SqsDeliveryQueue
    hub: RedisEventHub
    dynamodb: Any
    sqs: Any
    redis: RedisClient
    persisted_queries: PersistedQueryStore
    metrics: Metrics = NO_METRICS
    # Apps built by hand (bench/serve.py) send without a limit.
    send_limiter: SendRateLimiter = field(default_factory=NoSendLimit)
    # See dead_letter_queue_url().
    _dead_letter_queue_url: str | None = field(default=None, repr=False)

    async def measure_queues(self) -> None:
        """Both queues' approximate sizes, into the metrics. SQS has no lag figure that every
        endpoint serves (ApproximateAgeOfOldestMessage is CloudWatch's): lag shows in the
        delivery latency histogram instead."""
        await asyncio.gather(self._measure("delivery"), self._measure("dead_letter"))

    async def _measure(self, queue: QueueName) -> None:
        try:
            attributes = await asyncio.wait_for(
                self._queue_attributes(queue), QUEUE_MEASURE_TIMEOUT_SECONDS
            )
            visible = float(attributes["ApproximateNumberOfMessages"])
            in_flight = float(attributes["ApproximateNumberOfMessagesNotVisible"])
        except Exception as error:
            log.warning("could not measure the %s queue: %r", queue, error)
            visible = in_flight = math.nan
        self.metrics.queue_measured(queue, visible=visible, in_flight=in_flight)

    async def dead_letter_queue_url(self) -> str:
        """Looked up on first use, then kept: only /metrics and the `dlq` command need it."""
        if self._dead_letter_queue_url is None:
            name = self.settings.dead_letter_queue_name
            found = await self.sqs.get_queue_url(QueueName=name)
            self._dead_letter_queue_url = str(found["QueueUrl"])
        return self._dead_letter_queue_url

    async def _queue_attributes(self, queue: QueueName) -> dict[str, str]:
        url = self.queue.url if queue == "delivery" else await self.dead_letter_queue_url()
        response = await self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=QUEUE_ATTRIBUTES
        )
        return dict(response["Attributes"])

    async def readiness(self) -> dict[str, bool]:
        """Whether each dependency answers now, each within a short budget."""

        async def probe(check: Any) -> bool:
            try:
                await asyncio.wait_for(check, READY_TIMEOUT_SECONDS)
            except Exception:
                return False
            return True

        results = await asyncio.gather(
            probe(self.dynamodb.describe_table(TableName=self.settings.table_name)),
            probe(self.sqs.get_queue_attributes(QueueUrl=self.queue.url)),
            probe(self.redis.ping()),
        )
        return dict(zip(("dynamodb", "sqs", "redis"), results, strict=True))


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    endpoints: AwsEndpoints,
    *,
    workers: int,
    provision: bool,
    metrics: Metrics = NO_METRICS,
) -> AsyncIterator[App]:
    """Everything InboxQL needs, alive inside the block. `workers` delivery loops run in the
    background and drain the queue before the block exits. `metrics` is what the services
    report to: the server passes the registry it serves at /metrics."""
    async with AsyncExitStack() as stack:
        session = aws_session(settings, endpoints)
        config = client_config(settings)
        # A long poll holds the connection open; its read budget must outlast the wait.
        long_poll_config = config.merge(
            type(config)(read_timeout=settings.long_poll_seconds + settings.read_timeout_seconds)
        )
        dynamodb = await stack.enter_async_context(
            session.client("dynamodb", endpoint_url=endpoints.dynamodb, config=config)
        )
        sqs = await stack.enter_async_context(
            session.client("sqs", endpoint_url=endpoints.sqs, config=config)
        )
        sqs_long_poll = await stack.enter_async_context(
            session.client("sqs", endpoint_url=endpoints.sqs, config=long_poll_config)
        )
        # One node or a cluster, as the settings say; nothing connects until first used.
        redis_connections = redis_clients(settings)
        stack.push_async_callback(redis_connections.aclose)
        redis = redis_connections.commands

        if provision:
            await ensure_table(dynamodb, settings.table_name)
            queue_url = await ensure_queues(
                sqs,
                settings.queue_name,
                settings.dead_letter_queue_name,
                max_receive_count=settings.max_receive_count,
                visibility_timeout_seconds=settings.visibility_timeout_seconds,
            )
        else:
            queue_url = (await sqs.get_queue_url(QueueName=settings.queue_name))["QueueUrl"]

        store = DynamoMessageStore(dynamodb, settings.table_name)
        queue = SqsDeliveryQueue(
            sqs, queue_url, batch_linger_seconds=settings.send_batch_linger_ms / 1000
        )
        # Sends still waiting for a batch go out while the SQS client is open.
        stack.push_async_callback(queue.aclose)
        hub = RedisEventHub(redis_connections.channels)
        hub_task = asyncio.create_task(hub.run(), name="inboxql-pubsub")
        stack.push_async_callback(_cancel, hub_task)

        tokens = VerifiedTokens(
            await stack.enter_async_context(token_verifier(settings)),
            leeway_seconds=settings.jwt_leeway_seconds,
        )
        inbox = InboxService(
            store=store,
            queue=queue,
            cache=RedisMessageCache(redis, settings.body_cache_ttl_seconds),
            publisher=hub,
            events=hub,
            metrics=metrics,
        )
        app = App(
            settings=settings,
            inbox=inbox,
            tokens=tokens,
            store=store,
            queue=queue,
            hub=hub,
            dynamodb=dynamodb,
            sqs=sqs,
            redis=redis,
            persisted_queries=RedisPersistedQueryStore(redis),
            send_limiter=send_rate_limiter(
                redis,
                limit=settings.send_rate_limit,
                window_seconds=settings.send_rate_window_seconds,
            ),
            metrics=metrics,
        )
        stop = asyncio.Event()
        worker = DeliveryWorker(
            SqsDeliveryQueue(sqs_long_poll, queue_url),
            store,
            hub,
            wait_seconds=settings.long_poll_seconds,
            metrics=metrics,
        )
        worker_tasks = [
            asyncio.create_task(worker.run(stop), name=f"inboxql-worker-{i}")
            for i in range(workers)
        ]

        async def stop_workers() -> None:
            stop.set()
            await asyncio.gather(*worker_tasks, return_exceptions=True)

        # Registered last, so it runs first: workers drain while every client is still open.
        stack.push_async_callback(stop_workers)
        yield app


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
