"""The run's table and queues, and data put straight into them, through InboxQL's own adapters
on clients opened here. Not `bootstrap()`: set-up needs no event hub, and a hub stopped right
after it started can hang (see docs/performance.md, "Known problems")."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bench.context import BenchContext
from services.aws import aws_session, client_config
from services.dynamodb.provisioning import ensure_table
from services.dynamodb.store import DynamoMessageStore
from services.redis.message_cache import RedisMessageCache
from services.sqs.provisioning import ensure_queues


@dataclass
class Provisioned:
    dynamodb: Any
    sqs: Any
    queue_url: str
    store: DynamoMessageStore
    cache: RedisMessageCache


@contextlib.asynccontextmanager
async def provisioned(context: BenchContext) -> AsyncIterator[Provisioned]:
    settings = context.settings
    session = aws_session(settings, context.endpoints)
    config = client_config(settings)
    redis = Redis.from_url(settings.redis_url, socket_timeout=settings.read_timeout_seconds)
    async with (
        session.client("dynamodb", endpoint_url=context.endpoints.dynamodb, config=config) as ddb,
        session.client("sqs", endpoint_url=context.endpoints.sqs, config=config) as sqs,
    ):
        try:
            await ensure_table(ddb, settings.table_name)
            queue_url = await ensure_queues(
                sqs,
                settings.queue_name,
                settings.dead_letter_queue_name,
                max_receive_count=settings.max_receive_count,
                visibility_timeout_seconds=settings.visibility_timeout_seconds,
            )
            yield Provisioned(
                ddb,
                sqs,
                queue_url,
                DynamoMessageStore(ddb, settings.table_name),
                RedisMessageCache(redis, settings.body_cache_ttl_seconds),
            )
        finally:
            await redis.aclose()


async def provision(context: BenchContext) -> None:
    async with provisioned(context):
        pass
