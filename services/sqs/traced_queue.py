"""The delivery queue's traced kinds, which the composition root builds when tracing is on
(services/observability/tracing.py): each send is a producer span whose context travels in the
message's attributes, and each received message is processed under a consumer span, child of
the sender's. Attributes follow OpenTelemetry's messaging conventions for AWS SQS and its AWS
SDK ones (`rpc.system=aws-api`).

A batched send is one span per message, not per call: the batch call is made by a task that
serves many requests (services/sqs/send_batcher.py), and each entry carries its own sender's
context.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from services.domain import Message
from services.observability.trace_carrier import context_from, current_carrier
from services.ports import Delivery
from services.sqs.consumer import SqsDeliveryConsumer, _delivery
from services.sqs.producer import SqsDeliveryProducer
from services.sqs.trace_context import TRACE_ATTRIBUTE_NAMES, carrier_from, message_attributes


def queue_name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def sqs_attributes(queue_name: str, operation_type: str, method: str) -> dict[str, Any]:
    return {
        "messaging.system": "aws_sqs",
        "messaging.destination.name": queue_name,
        "messaging.operation.type": operation_type,
        "messaging.operation.name": operation_type,
        "rpc.system": "aws-api",
        "rpc.service": "SQS",
        "rpc.method": method,
    }


class TracedSqsDeliveryProducer(SqsDeliveryProducer):
    def __init__(
        self, client: Any, queue_url: str, tracer: Tracer, *, batch_linger_seconds: float = 0.0
    ) -> None:
        super().__init__(client, queue_url, batch_linger_seconds=batch_linger_seconds)
        self._tracer = tracer
        method = "SendMessageBatch" if self._batcher is not None else "SendMessage"
        name = queue_name_of(queue_url)
        self._span_name = f"send {name}"
        self._attributes = sqs_attributes(name, "send", method) | {"aws.sqs.queue.url": queue_url}

    async def enqueue(self, message: Message) -> None:
        with self._tracer.start_as_current_span(
            self._span_name, kind=SpanKind.PRODUCER, attributes=self._attributes
        ) as span:
            span.set_attribute("inboxql.message_id", message.id)
            await self._enqueue(message, message_attributes(current_carrier()))


class TracedSqsDeliveryConsumer(SqsDeliveryConsumer):
    """Asks SQS for the trace attributes with each message, and keeps them with it."""

    attribute_names = tuple(TRACE_ATTRIBUTE_NAMES)

    def decoded(self, raw: dict[str, Any]) -> Delivery:
        return _delivery(raw, carrier_from(raw.get("MessageAttributes")))


@dataclass(frozen=True)
class ProcessSpans:
    """The consumer span each received message is delivered under, the child of its sender's
    producer span when its trace context came with it."""

    tracer: Tracer
    queue_name: str

    async def process(self, item: Delivery, delivering: Awaitable[bool]) -> bool:
        attributes = sqs_attributes(self.queue_name, "process", "ReceiveMessage")
        attributes["inboxql.receive_count"] = item.receive_count
        if item.message is not None:
            attributes["inboxql.message_id"] = item.message.id
        with self.tracer.start_as_current_span(
            f"process {self.queue_name}",
            context=context_from(item.trace),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            delivered = await delivering
            if not delivered:
                span.set_status(Status(StatusCode.ERROR, "not delivered; the queue retries it"))
            return delivered
