"""The composition root: builds the clients, adapters and services a role needs from settings,
and owns their lifetime.

Every entry point builds through `bootstrap()`: the server's lifespan (role "api"), the
`worker`, `seed` and `dlq` commands (role "worker"), the Lambda handler (role "lambda"), the
benchmarks and the tests. Each collaborator can be given instead of built: a part that is given
is used as it is, and a client that no built part needs is never opened. So a unit test or a
benchmark passes its fakes and opens no connection at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

from services import limits
from services.app import ROLES, App, Clients, Role, RoleParts
from services.aws import AwsEndpoints
from services.client_opener import ClientOpener
from services.conversations import ConversationService
from services.deletion import DeletionService
from services.delivery import DeliveryWorker
from services.disabled import NO_METRICS
from services.domain import utc_now
from services.dynamodb.store import DynamoMessageStore
from services.inbox import InboxService
from services.observability.probes import DependencyProbes
from services.observability.traced_parts import (
    delivery_consumer,
    delivery_producer,
    event_hub,
    process_spans,
)
from services.observability.tracing import Tracing, process_tracing
from services.ports import (
    DeliveryConsumer,
    DeliveryProducer,
    EventHub,
    MessageCache,
    MessageStore,
    Metrics,
    PersistedQueryStore,
    RateLimiter,
    SendRateLimiter,
    TokenVerifier,
    TypingGate,
)
from services.presence import PresenceService
from services.read_expiry import ReadExpiry
from services.read_marks import ReadMarkService
from services.redis.clients import RedisClients
from services.redis.message_cache import RedisMessageCache
from services.redis.persisted_queries import RedisPersistedQueryStore
from services.redis.typing_gate import RedisTypingGate
from services.retention import Retention
from services.sending import SendService
from services.settings import Settings
from services.sync import SyncService
from services.tokens.verified_tokens import VerifiedTokens
from services.tokens.verifiers import token_verifier


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    endpoints: AwsEndpoints | None = None,
    *,
    role: Role = "api",
    workers: int = 0,
    provision: bool = False,
    metrics: Metrics = NO_METRICS,
    store: MessageStore | None = None,
    producer: DeliveryProducer | None = None,
    consumer: DeliveryConsumer | None = None,
    cache: MessageCache | None = None,
    hub: EventHub | None = None,
    tokens: TokenVerifier | None = None,
    send_limiter: SendRateLimiter | None = None,
    persisted_queries: PersistedQueryStore | None = None,
    read_limiter: RateLimiter | None = None,
    registration_quota: RateLimiter | None = None,
    typing_limiter: SendRateLimiter | None = None,
    typing_gate: TypingGate | None = None,
    clock: Callable[[], datetime] = utc_now,
    dynamodb: Any = None,
    sqs: Any = None,
    redis: RedisClients | None = None,
    tracing: Tracing | None = None,
) -> AsyncIterator[App]:
    """What `role` needs, alive inside the block.

    - "api": the inbox and send services, tokens, persisted queries, the live event hub;
    - "worker": the store, the queue's consumer side and the hub to publish on (the api role
      has those too, for the delivery loops a local server runs in process);
    - "lambda": the store and the hub (the event source mapping is the consumer).

    `workers` delivery loops run in the background (any role but "lambda") and drain the queue
    before the block exits. `metrics` is what the services report to: the server passes the
    registry it serves at /metrics. `provision` creates the table and queues if missing.
    `dynamodb`, `sqs` and `redis` are clients the caller opened (and closes): the adapters
    bootstrap builds use them instead of opening their own, as the capacity benchmark's
    counting clients need. `tracing` (by default the settings', services/observability/
    tracing.py) makes the adapters built here their traced kinds; the parts given are used as
    they are."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "lambda" and workers:
        raise ValueError("a Lambda worker runs no delivery loops of its own")
    if tracing is None:
        tracing = process_tracing(settings)
    retention = Retention.of(settings.retention_days)
    async with AsyncExitStack() as stack:
        clients = Clients(
            dynamodb=dynamodb, sqs=sqs, redis=redis.commands if redis is not None else None
        )
        opener = ClientOpener(
            settings,
            endpoints or AwsEndpoints(),
            stack,
            provision,
            clients,
            sqs_given=sqs is not None,
            _redis=redis,
            tracing=tracing,
        )
        if store is None:
            store = DynamoMessageStore(
                await opener.dynamodb(),
                settings.table_name,
                retention=retention,
                metrics=metrics,
            )
        if hub is None:
            redis_hub = event_hub(opener.redis(), tracing)
            hub_task = asyncio.create_task(redis_hub.run(), name="inboxql-pubsub")
            stack.push_async_callback(_cancel, hub_task)
            hub = redis_hub
        parts = RoleParts()
        if role == "api":
            parts = await _api_parts(
                settings,
                opener,
                retention=retention,
                store=store,
                hub=hub,
                metrics=metrics,
                clock=clock,
                producer=producer,
                cache=cache,
                tokens=tokens,
                send_limiter=send_limiter,
                persisted_queries=persisted_queries,
                read_limiter=read_limiter,
                registration_quota=registration_quota,
                typing_limiter=typing_limiter,
                typing_gate=typing_gate,
            )
        if role != "lambda":
            parts.consumer = consumer or delivery_consumer(
                await opener.sqs_long_poll(), clients.queue_url, tracing
            )
        app = App(
            settings=settings,
            role=role,
            metrics=metrics,
            store=store,
            hub=hub,
            clients=clients,
            built=parts,
            tracing=tracing,
            probes=DependencyProbes(
                settings,
                metrics,
                dynamodb=clients.dynamodb,
                sqs=clients.sqs,
                redis=clients.redis,
                queue_url=clients.queue_url,
            ),
        )
        if workers:
            _start_workers(stack, app, workers)
        yield app


async def _api_parts(
    settings: Settings,
    opener: ClientOpener,
    *,
    retention: Retention | None,
    store: MessageStore,
    hub: EventHub,
    metrics: Metrics,
    clock: Callable[[], datetime],
    producer: DeliveryProducer | None,
    cache: MessageCache | None,
    tokens: TokenVerifier | None,
    send_limiter: SendRateLimiter | None,
    persisted_queries: PersistedQueryStore | None,
    read_limiter: RateLimiter | None,
    registration_quota: RateLimiter | None,
    typing_limiter: SendRateLimiter | None,
    typing_gate: TypingGate | None,
) -> RoleParts:
    if producer is None:
        sqs_producer = delivery_producer(
            await opener.sqs(),
            opener.clients.queue_url,
            opener.tracing,
            batch_linger_seconds=settings.send_batch_linger_ms / 1000,
        )
        # Sends still waiting for a batch go out while the SQS client is open.
        opener.stack.push_async_callback(sqs_producer.aclose)
        producer = sqs_producer
    if cache is None:
        cache = RedisMessageCache(opener.redis().commands, settings.body_cache_ttl_seconds)
    if tokens is None:
        verifier = await opener.stack.enter_async_context(token_verifier(settings))
        tokens = VerifiedTokens(verifier, leeway_seconds=settings.jwt_leeway_seconds)

    def redis() -> Any:
        return opener.redis().commands

    if send_limiter is None:
        send_limiter = limits.send_limit(settings, redis)
    if persisted_queries is None:
        persisted_queries = RedisPersistedQueryStore(redis())
    if read_limiter is None:
        read_limiter = limits.read_limit(settings, redis)
    if registration_quota is None:
        registration_quota = limits.registration_quota(settings, redis)
    if typing_limiter is None:
        typing_limiter = limits.typing_limit(settings, redis)
    if typing_gate is None:
        typing_gate = RedisTypingGate(opener.redis().commands)
    inbox = InboxService(
        store=store,
        cache=cache,
        publisher=hub,
        events=hub,
        metrics=metrics,
        retention=retention,
    )
    expiry = None
    if retention is not None:
        expiry = ReadExpiry(store)
        # Registered after the clients, so it runs before they close.
        opener.stack.push_async_callback(expiry.aclose)
    return RoleParts(
        inbox=inbox,
        read_marks=ReadMarkService(store=store, publisher=hub, clock=clock, expiry=expiry),
        # Bodies of a page of changes come as the inbox's do: the cache, then the store.
        sync=SyncService(
            store=store,
            events=hub,
            load_messages=inbox.load_messages,
            clock=clock,
            retention=retention,
        ),
        sending=SendService(store=store, queue=producer, limiter=send_limiter, clock=clock),
        presence=PresenceService(
            gate=typing_gate, publisher=hub, events=hub, limiter=typing_limiter
        ),
        conversations=ConversationService(store=store),
        deletion=DeletionService(store=store, cache=cache, publisher=hub, clock=clock),
        tokens=tokens,
        persisted_queries=persisted_queries,
        read_limiter=read_limiter,
        registration_quota=registration_quota,
        producer=producer,
    )


def _start_workers(stack: AsyncExitStack, app: App, workers: int) -> None:
    stop = asyncio.Event()
    worker = DeliveryWorker(
        app.consumer,
        app.store,
        app.hub,
        wait_seconds=app.settings.long_poll_seconds,
        metrics=app.metrics,
        spans=process_spans(app),
    )
    tasks = [
        asyncio.create_task(worker.run(stop), name=f"inboxql-worker-{i}") for i in range(workers)
    ]

    async def stop_workers() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Registered last, so it runs first: workers drain while every client is still open.
    stack.push_async_callback(stop_workers)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
