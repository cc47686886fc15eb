"""The composition root's clients: each AWS and Redis client is opened on first use only, into
the root's exit stack, so a role (or a test passing its fakes) never opens one it does not need,
and provisioning runs once, before the first call that needs the table or the queue."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from services.app import Clients
from services.aws import AwsEndpoints, aws_session, client_config
from services.dynamodb.lean_client import LeanDynamoDB
from services.dynamodb.provisioning import ensure_table
from services.observability.tracing import Tracing
from services.redis.clients import RedisClients, redis_clients
from services.settings import Settings
from services.sqs.lean_client import LeanSqs
from services.sqs.provisioning import ensure_queues


@dataclass
class ClientOpener:
    """Opens each client on first use only, into the bootstrap's exit stack."""

    settings: Settings
    endpoints: AwsEndpoints
    stack: AsyncExitStack
    provision: bool
    clients: Clients
    sqs_given: bool = False
    _redis: RedisClients | None = None
    _table_ready: bool = False
    _sqs_long_poll: Any = None
    # When on, the clients opened here are the traced kinds (docs/tracing.md).
    tracing: Tracing | None = None

    async def dynamodb(self) -> Any:
        if self.clients.dynamodb is None:
            # The hot calls take the leaner path; every other call is aiobotocore's
            # (docs/performance.md, "Issue 14: the path to DynamoDB").
            client = await self._aws("dynamodb")
            if self.tracing is None:
                self.clients.dynamodb = LeanDynamoDB(client)
            else:
                from services.dynamodb.traced_client import TracedLeanDynamoDB  # noqa: PLC0415

                self.clients.dynamodb = TracedLeanDynamoDB(client, self.tracing.tracer)
        if self.provision and not self._table_ready:
            await ensure_table(self.clients.dynamodb, self.settings.table_name)
            self._table_ready = True
        return self.clients.dynamodb

    async def sqs(self) -> Any:
        if self.clients.sqs is None:
            # The queue's calls take the leaner path, as DynamoDB's hot calls do.
            self.clients.sqs = LeanSqs(await self._aws("sqs"))
        if not self.clients.queue_url:
            self.clients.queue_url = await self._queue_url(self.clients.sqs)
        return self.clients.sqs

    async def _queue_url(self, sqs: Any) -> str:
        settings = self.settings
        if self.provision:
            return await ensure_queues(
                sqs,
                settings.queue_name,
                settings.dead_letter_queue_name,
                max_receive_count=settings.max_receive_count,
                visibility_timeout_seconds=settings.visibility_timeout_seconds,
            )
        found = await sqs.get_queue_url(QueueName=settings.queue_name)
        return str(found["QueueUrl"])

    async def sqs_long_poll(self) -> Any:
        sqs = await self.sqs()
        if self.sqs_given:
            # A client the caller opened serves every call, with the caller's timeouts.
            return sqs
        if self._sqs_long_poll is None:
            # A long poll holds the connection open; its read budget must outlast the wait.
            config = client_config(self.settings)
            read_timeout = self.settings.long_poll_seconds + self.settings.read_timeout_seconds
            self._sqs_long_poll = LeanSqs(
                await self._aws("sqs", config.merge(type(config)(read_timeout=read_timeout)))
            )
        return self._sqs_long_poll

    def redis(self) -> RedisClients:
        # Given clients are the caller's to close; only those opened here are closed here.
        if self._redis is None:
            # One node or a cluster, as the settings say; nothing connects until first used.
            self._redis = redis_clients(self.settings)
            if self.tracing is not None:
                _trace_commands(self._redis, self.tracing)
            self.stack.push_async_callback(self._redis.aclose)
            self.clients.redis = self._redis.commands
        return self._redis

    async def _aws(self, service: str, config: Any = None) -> Any:
        session = aws_session(self.settings, self.endpoints)
        endpoint = getattr(self.endpoints, service)
        client = session.client(
            service, endpoint_url=endpoint, config=config or client_config(self.settings)
        )
        return await self.stack.enter_async_context(client)


def _trace_commands(redis: RedisClients, tracing: Tracing) -> None:
    """A client span per command (publish, cache reads, limits), from OpenTelemetry's Redis
    instrumentation, which covers redis.asyncio's Redis and RedisCluster and their pipelines.
    This client only: not the pub/sub connections, and not redis-py's classes for the whole
    process."""
    from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415

    RedisInstrumentor.instrument_client(redis.commands, tracer_provider=tracing.provider)
