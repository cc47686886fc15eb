"""Tracing on a real Redis Cluster: the composition root's traced hub publishes with SPUBLISH
through the instrumented cluster client, and the subscriber takes the event with the
publisher's context (what its push span is made from)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, get_current_span

from services.bootstrap import bootstrap
from services.domain import UnreadCountChanged, UserId
from services.observability.trace_carrier import context_from, pushed_event_trace
from services.observability.tracing import Tracing, sdk_provider
from services.ports import EventStreamItem
from services.redis.traced_hub import TracedRedisEventHub
from services.settings import Settings
from tests.conftest import new_user
from tests.fakes import FakeMessageStore
from tests.integration.test_redis_servers import RedisServer

STEP_TIMEOUT = 10.0


async def test_a_publish_on_a_cluster_is_traced_to_its_subscriber(
    cluster: list[RedisServer],
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.of(sdk_provider(exporter, batch=False))
    settings = Settings(redis_url=cluster[0].url, redis_cluster=True)
    alice = UserId(new_user("alice"))
    # The Lambda role with its store given: bootstrap opens Redis only.
    async with bootstrap(settings, role="lambda", store=FakeMessageStore(), tracing=tracing) as app:
        assert isinstance(app.hub, TracedRedisEventHub)
        async with app.hub.subscribe(alice) as stream:
            with tracing.tracer.start_as_current_span("delivery"):
                await app.hub.publish(alice, UnreadCountChanged(alice, 1, 1))

            async def taken() -> tuple[EventStreamItem, Mapping[str, str] | None]:
                # Read as the subscription's operation task reads it.
                item = await anext(stream)
                return item, pushed_event_trace.get()

            item, carrier = await asyncio.wait_for(taken(), STEP_TIMEOUT)
    assert item == UnreadCountChanged(alice, 1, 1)

    spans = {span.name: span for span in exporter.get_finished_spans()}
    publish = spans["publish inboxql:user:{user_id}"]
    spublish = spans["SPUBLISH"]
    assert publish.kind is SpanKind.PRODUCER
    assert spublish.parent is not None and spublish.parent.span_id == publish.context.span_id
    assert publish.parent is not None
    assert publish.parent.span_id == spans["delivery"].context.span_id
    # What the subscriber took names the publish as its parent.
    parent = context_from(carrier)
    assert parent is not None
    remote = get_current_span(parent).get_span_context()
    assert (remote.trace_id, remote.span_id) == (
        publish.context.trace_id,
        publish.context.span_id,
    )
