"""Which kind of each adapter the composition root builds: the plain one, or with tracing on,
its traced kind (docs/tracing.md). The traced modules, and OpenTelemetry with them, are
imported only when tracing is on."""

from __future__ import annotations

from typing import Any

from services.app import App
from services.delivery import ProcessSpans
from services.observability.tracing import Tracing
from services.redis.clients import RedisClients
from services.redis.event_hub import RedisEventHub
from services.sqs.consumer import SqsDeliveryConsumer
from services.sqs.producer import SqsDeliveryProducer


def event_hub(redis: RedisClients, tracing: Tracing | None) -> RedisEventHub:
    if tracing is None:
        return RedisEventHub(redis.channels)
    from services.redis.traced_hub import TracedRedisEventHub  # noqa: PLC0415

    return TracedRedisEventHub(redis.channels, tracing.tracer)


def delivery_producer(
    client: Any, queue_url: str, tracing: Tracing | None, *, batch_linger_seconds: float
) -> SqsDeliveryProducer:
    if tracing is None:
        return SqsDeliveryProducer(client, queue_url, batch_linger_seconds=batch_linger_seconds)
    from services.sqs.traced_queue import TracedSqsDeliveryProducer  # noqa: PLC0415

    return TracedSqsDeliveryProducer(
        client, queue_url, tracing.tracer, batch_linger_seconds=batch_linger_seconds
    )


def delivery_consumer(client: Any, queue_url: str, tracing: Tracing | None) -> SqsDeliveryConsumer:
    if tracing is None:
        return SqsDeliveryConsumer(client, queue_url)
    from services.sqs.traced_queue import TracedSqsDeliveryConsumer  # noqa: PLC0415

    return TracedSqsDeliveryConsumer(client, queue_url)


def process_spans(app: App) -> ProcessSpans | None:
    """The delivery loops' (and the Lambda handler's) consumer spans, when tracing is on."""
    if app.tracing is None:
        return None
    from services.sqs.traced_queue import ProcessSpans, queue_name_of  # noqa: PLC0415

    # A Lambda function opens no queue: its settings name the queue it is mapped to.
    queue = queue_name_of(app.clients.queue_url) if app.clients.queue_url else None
    return ProcessSpans(app.tracing.tracer, queue or app.settings.queue_name)
