"""InboxQL's services as `bootstrap()` builds them, on the metered clients, for the capacity
benchmark."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bench.meter import Meter
from bench.metered_clients import MeteredDynamoDB, MeteredSqs, metered_redis
from services.app import App
from services.bootstrap import bootstrap
from services.conversations import ConversationService
from services.deletion import DeletionService
from services.delivery import DeliveryWorker
from services.disabled import NoSendLimit
from services.inbox import InboxService
from services.ports import MessageCache
from services.presence import PresenceService
from services.read_marks import ReadMarkService
from services.redis.clients import RedisClients, SingleNodeChannels
from services.sending import SendService
from services.sync import SyncService


@dataclass
class Metered:
    meter: Meter
    inbox: InboxService
    sending: SendService
    sync: SyncService
    worker: DeliveryWorker
    cache: MessageCache
    # Its producer batches concurrent sends as the server's does (INBOXQL_SEND_BATCH_LINGER_MS).
    batching: SendService
    presence: PresenceService
    conversations: ConversationService
    read_marks: ReadMarkService
    deletion: DeletionService


@contextlib.asynccontextmanager
async def metered_services(app: App) -> AsyncIterator[Metered]:
    """The api role built through `bootstrap()` on counting clients, beside `app`'s own."""
    meter = Meter()
    settings = app.settings
    dynamodb = MeteredDynamoDB(app.clients.dynamodb, meter)
    sqs = MeteredSqs(app.clients.sqs, meter)
    commands = metered_redis(settings.redis_url, meter)
    redis = RedisClients(
        commands, SingleNodeChannels(commands, metered_redis(settings.redis_url, meter))
    )
    # The send and typing rate limits are policies, not parts of an operation's cost: the
    # profile prices operations without them, as it always has (services/cost/workload.py
    # adds each limit's one EVALSHA).
    unbatched = dataclasses.replace(settings, send_batch_linger_ms=0)
    try:
        async with contextlib.AsyncExitStack() as stack:
            with meter.paused():
                plain_app = await stack.enter_async_context(
                    bootstrap(
                        unbatched,
                        dynamodb=dynamodb,
                        sqs=sqs,
                        redis=redis,
                        send_limiter=NoSendLimit(),
                        typing_limiter=NoSendLimit(),
                    )
                )
                batching_app = await stack.enter_async_context(
                    bootstrap(
                        settings,
                        dynamodb=dynamodb,
                        sqs=sqs,
                        redis=redis,
                        send_limiter=NoSendLimit(),
                        store=plain_app.store,
                        hub=plain_app.hub,
                        cache=plain_app.inbox.cache,
                        consumer=plain_app.consumer,
                    )
                )
            worker = DeliveryWorker(
                plain_app.consumer, plain_app.store, plain_app.hub, wait_seconds=0
            )
            yield Metered(
                meter,
                plain_app.inbox,
                plain_app.sending,
                plain_app.sync,
                worker,
                plain_app.inbox.cache,
                batching_app.sending,
                plain_app.presence,
                plain_app.conversations,
                plain_app.read_marks,
                plain_app.deletion,
            )
    finally:
        await redis.aclose()
