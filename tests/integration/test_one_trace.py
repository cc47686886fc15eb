"""One trace from `sendMessage` to the push on the recipient's socket, on the local stack.

The server (`create_app`, as `server.py` builds it, with one delivery loop) runs in this
process under uvicorn, so that its spans reach an in-memory exporter. Nothing else links
them: the delivery loop and the pub/sub reader are tasks started before any request, and the
subscription's socket has its own task. So the trace holds together only if the context
really crossed the SQS message attributes and the event's wire format in Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from server import create_app
from services.bootstrap import bootstrap
from services.domain import UserId
from services.local.stack import StackEndpoints
from services.observability.tracing import Tracing, sdk_provider
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, new_user, stack_endpoints, stack_settings
from tests.e2e.conftest import free_port
from tests.e2e.websocket_client import next_data, session, subscribe
from tests.polling import eventually

SEND = 'mutation Send($to: ID!) { sendMessage(input: {recipientId: $to, body: "hi"}) { id } }'
COUNT = "subscription Badge { versionedUnreadCount { count version } }"


@asynccontextmanager
async def traced_server(
    stack: StackEndpoints, session_tag: str, tracing: Tracing
) -> AsyncIterator[str]:
    """Serves on a free port until the block ends; yields the server's base URL."""
    settings = stack_settings(
        stack, session_tag, queue_name=f"q-{uuid.uuid4().hex[:12]}", long_poll_seconds=1
    )
    # The table and the queue, as a local-mode server would create them (this one is external).
    async with bootstrap(settings, stack_endpoints(stack), role="worker", provision=True):
        pass
    app = create_app(settings, stack_endpoints(stack), workers=1, tracing=tracing)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", ws="wsproto", log_config=None
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or serving.done(), "the server to start")
        assert server.started, "the server did not start"
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    found = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert len(found) == 1, f"{span.name}'s parent is not in the trace"
    return found[0]


def ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None:
        span = parent_of(span, spans)
        names.append(span.name)
    return names


async def test_one_trace_holds_the_send_the_queue_the_delivery_and_the_push(
    stack: StackEndpoints, session_tag: str
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.of(sdk_provider(exporter, batch=False))
    alice, bob = new_user("alice"), new_user("bob")
    async with traced_server(stack, session_tag, tracing) as host:
        tokens = HmacTokenVerifier(TEST_JWT_SECRET)
        async with session(f"ws://{host}/graphql", tokens.issue(UserId(alice))) as ws:
            await subscribe(ws, "badge", COUNT)
            # The first value is sent once the subscription is registered with Redis.
            assert (await next_data(ws, "badge"))["versionedUnreadCount"]["count"] == 0
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    f"http://{host}/graphql",
                    json={
                        "query": SEND,
                        "operationName": "Send",
                        "variables": {"to": alice},
                    },
                    headers={"Authorization": f"Bearer {tokens.issue(UserId(bob))}"},
                )
            assert answer.status_code == 200, answer.text
            assert "errors" not in answer.json(), answer.text
            pushed = await next_data(ws, "badge")
            assert pushed["versionedUnreadCount"]["count"] == 1

            def pushed_span() -> bool:
                return any(s.name == "push Badge" for s in exporter.get_finished_spans())

            await eventually(pushed_span, "the push's span to end")

    spans = exporter.get_finished_spans()
    send = one(spans, "mutation Send")
    trace_id = send.context.trace_id
    in_trace = [span for span in spans if span.context.trace_id == trace_id]

    queued = [s for s in in_trace if s.kind is SpanKind.PRODUCER and s.name.startswith("send q-")]
    processed = [s for s in in_trace if s.name.startswith("process q-")]
    assert len(queued) == len(processed) == 1, [s.name for s in in_trace]
    producer, consumer = queued[0], processed[0]
    transaction = one(in_trace, "DynamoDB.TransactWriteItems")
    publish = one(in_trace, "publish inboxql:user:{user_id}")
    push = one(in_trace, "push Badge")
    redis_publish = [s for s in in_trace if s.name in ("PUBLISH", "SPUBLISH")]

    # sendMessage -> the queue: the producer span is the operation's child, and the consumer
    # span, in the delivery loop, is the producer's child across SQS.
    assert parent_of(producer, in_trace) is send
    assert producer.attributes is not None
    assert producer.attributes["messaging.system"] == "aws_sqs"
    assert producer.attributes["messaging.operation.type"] == "send"
    assert producer.attributes["rpc.system"] == "aws-api"
    assert parent_of(consumer, in_trace) is producer
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert (
        consumer.attributes["messaging.destination.name"]
        == producer.attributes["messaging.destination.name"]
    )
    # -> the worker's transaction and the Redis publish, under the consumer span.
    assert consumer.name in ancestors(transaction, in_trace)
    assert transaction.attributes is not None
    assert transaction.attributes["rpc.service"] == "DynamoDB"
    assert list(transaction.attributes["aws.dynamodb.table_names"]) != []  # type: ignore[arg-type]
    assert parent_of(publish, in_trace) is consumer
    assert len(redis_publish) == 1 and parent_of(redis_publish[0], in_trace) is publish
    # -> the push on alice's socket, across Redis pub/sub, linked to her subscription.
    assert parent_of(push, in_trace) is publish
    subscription = one(spans, "subscription Badge")
    assert subscription.context.trace_id != trace_id
    assert [link.context.span_id for link in push.links] == [subscription.context.span_id]
    # The order in time says the same.
    assert send.start_time is not None and push.end_time is not None
    assert send.start_time < consumer.start_time < push.end_time  # type: ignore[operator]
