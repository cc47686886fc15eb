"""The delivery queue's traced kinds, against recording clients and fakes: each message carries
its own sender's context, and a delivery (long-polled or from a Lambda record) is processed
under a span whose parent is that context, or a trace of its own when none came."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.domain import Message, UserId, new_message_id
from services.lambda_worker import handle_records
from services.message_codec import encode_message
from services.observability.tracing import Tracing, sdk_provider
from services.sqs.trace_context import carrier_from
from services.sqs.traced_queue import ProcessSpans, TracedSqsDeliveryProducer
from tests.fakes import FakeEventHub, FakeMessageStore

QUEUE_URL = "http://sqs.local/000000000000/deliveries"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def traced() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = Tracing.of(sdk_provider(exporter, batch=False))
    yield tracing, exporter
    tracing.provider.shutdown()


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {"MessageId": "m"}

    async def send_message_batch(self, **params: Any) -> dict[str, Any]:
        self.sent.extend(params["Entries"])
        return {"Successful": [{"Id": entry["Id"]} for entry in params["Entries"]]}


def a_message(body: str = "hi") -> Message:
    at = datetime.now(UTC)
    return Message(new_message_id(at), UserId("bob"), UserId("alice"), body, at)


def ids(span: ReadableSpan) -> str:
    return f"{span.context.trace_id:032x}-{span.context.span_id:016x}"


@pytest.mark.parametrize("linger", [0.0, 0.05])
async def test_each_message_carries_its_own_sender_s_context(
    traced: tuple[Tracing, InMemorySpanExporter], linger: float
) -> None:
    tracing, exporter = traced
    sqs = RecordingSqs()
    producer = TracedSqsDeliveryProducer(
        sqs, QUEUE_URL, tracing.tracer, batch_linger_seconds=linger
    )

    async def send_under(name: str) -> None:
        with tracing.tracer.start_as_current_span(name):
            await producer.enqueue(a_message(name))

    # Concurrent: with a linger, both go in one batch call made by the batcher's own task.
    await asyncio.gather(send_under("first"), send_under("second"))
    await producer.aclose()

    spans = exporter.get_finished_spans()
    for entry in sqs.sent:
        body = orjson.loads(entry["MessageBody"])["body"]
        request = next(s for s in spans if s.name == body)
        send = next(s for s in spans if s.parent is not None and s.parent == request.context)
        assert send.name == "send deliveries" and send.kind is SpanKind.PRODUCER
        assert send.attributes is not None
        assert send.attributes["rpc.method"] == ("SendMessageBatch" if linger else "SendMessage")
        carried = carrier_from(entry["MessageAttributes"])["traceparent"]
        assert carried.startswith(f"00-{ids(send)}-")
    assert len(sqs.sent) == 2


def record(body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": attributes,
    }


async def test_a_lambda_record_is_processed_under_its_sender_s_span(
    traced: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = traced
    attributes = {"traceparent": {"stringValue": TRACEPARENT, "dataType": "String"}}
    failed = await handle_records(
        [record(encode_message(a_message()), attributes)],
        FakeMessageStore(),
        FakeEventHub(),
        spans=ProcessSpans(tracing.tracer, "deliveries"),
    )
    assert failed == []
    (process,) = exporter.get_finished_spans()
    assert process.name == "process deliveries" and process.kind is SpanKind.CONSUMER
    assert process.parent is not None and process.parent.is_remote
    assert f"{process.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert f"{process.parent.span_id:016x}" == "00f067aa0ba902b7"


async def test_a_malformed_context_starts_a_trace_and_the_message_is_still_delivered(
    traced: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = traced
    store = FakeMessageStore()
    message = a_message()
    attributes = {"traceparent": {"stringValue": "00-garbage", "dataType": "String"}}
    failed = await handle_records(
        [record(encode_message(message), attributes)],
        store,
        FakeEventHub(),
        spans=ProcessSpans(tracing.tracer, "deliveries"),
    )
    assert failed == []
    assert message.id in await store.get_messages([message.id])
    (process,) = exporter.get_finished_spans()
    assert process.parent is None


async def test_an_undelivered_record_s_span_says_so(
    traced: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = traced
    failed = await handle_records(
        [record("not a message", {})],
        FakeMessageStore(),
        FakeEventHub(),
        spans=ProcessSpans(tracing.tracer, "deliveries"),
    )
    assert failed == ["m-1"]
    (process,) = exporter.get_finished_spans()
    assert process.status.status_code is StatusCode.ERROR
