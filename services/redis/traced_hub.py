"""The event hub's traced kind, built when tracing is on (services/observability/tracing.py).

A publish is a producer span, and the event carries its context on the wire
(services/message_codec.py: `tp`, `ts`). In the processes holding the recipient's
subscriptions, each subscription remembers which context came with which event it was handed;
when its reader (the subscription's operation task) takes an event, that context becomes the
task's `pushed_event_trace`, and the operation's tracing extension (schema/tracing.py) makes
the push on the socket a child of the publish. So the push joins the sender's trace even though
the event crossed Redis and a queue in between.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.trace import SpanKind, Tracer

from services.domain import UserId
from services.observability.trace_carrier import current_carrier, pushed_event_trace
from services.ports import EventStreamItem, LiveEvent
from services.redis.clients import PubSubChannels
from services.redis.event_hub import CHANNEL_PREFIX, RedisEventHub, Subscription, channel_for
from services.redis.subscriber_queue import DEFAULT_QUEUE_SIZE


class TracedRedisEventHub(RedisEventHub):
    def __init__(
        self, channels: PubSubChannels, tracer: Tracer, *, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        super().__init__(channels, queue_size=queue_size)
        self._tracer = tracer
        self._attributes = {
            "messaging.system": "redis",
            "messaging.destination.template": CHANNEL_PREFIX + "{user_id}",
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
        }

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        with self._tracer.start_as_current_span(
            f"publish {CHANNEL_PREFIX}{{user_id}}",
            kind=SpanKind.PRODUCER,
            attributes=self._attributes,
        ) as span:
            span.set_attribute("inboxql.event", type(event).__name__)
            await self._publish(user_id, event, trace=current_carrier())

    def subscribe(self, user_id: UserId, *, counts_only: bool = False) -> Subscription:
        return TracedSubscription(
            self, channel_for(user_id), self._queue_size, counts_only=counts_only
        )


class TracedSubscription(Subscription):
    """Keeps the trace context each event came with until its reader takes it."""

    __slots__ = ("_traces",)

    def __init__(
        self, hub: RedisEventHub, channel: str, size: int, *, counts_only: bool = False
    ) -> None:
        super().__init__(hub, channel, size, counts_only=counts_only)
        # id(event) -> (event, its context); the event is held so that its id stays its own.
        self._traces: dict[int, tuple[EventStreamItem, Mapping[str, str]]] = {}

    def offer_traced(self, item: EventStreamItem, trace: Mapping[str, str]) -> None:
        self.offer(item)
        if item is None:
            return
        self._traces[id(item)] = (item, trace)
        if len(self._traces) > self._size:
            # Events coalesced away or dropped with an overflow are never read: forget them.
            waiting = {id(pending) for pending in self._items}
            self._traces = {key: kept for key, kept in self._traces.items() if key in waiting}

    async def __anext__(self) -> EventStreamItem:
        item = await super().__anext__()
        kept = self._traces.pop(id(item), None)
        pushed_event_trace.set(kept[1] if kept is not None and kept[0] is item else None)
        return item
