"""The delivery worker as an AWS Lambda function behind an SQS event source mapping.

The event source mapping long-polls the delivery queue and hands this function batches of up to
10 records. Each record goes through the very code path of the long-polling worker
(`DeliveryWorker.deliver_batch` -> `deliver`): store idempotently, read the counter, publish. The
records that were not delivered (undecodable bodies included) are returned in
`batchItemFailures`; Lambda deletes the others from the queue. A failed record becomes visible
again after the visibility timeout and, after `maxReceiveCount` receives, moves to the
dead-letter queue, exactly as with the long-polling worker.

This only works with `FunctionResponseTypes: [ReportBatchItemFailures]` on the event source
mapping (see deploy/inboxql.yaml): without it Lambda ignores the response and deletes the whole
batch whenever the handler returns.

Entry point: `services.lambda_worker.handler`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from services.app import App
from services.aws import AwsEndpoints
from services.bootstrap import bootstrap
from services.delivery import ProcessSpans, deliver_batch
from services.message_codec import decode_message_with_request_id
from services.observability.traced_parts import process_spans
from services.ports import Delivery, EventPublisher, MessageStore
from services.settings import Settings, SettingsError
from services.sqs.trace_context import carrier_from

log = logging.getLogger("inboxql.lambda")

SqsRecord = Mapping[str, Any]
BatchResponse = dict[str, list[dict[str, str]]]


def _receive_count(record: SqsRecord) -> int:
    attributes = record.get("attributes")
    raw = attributes.get("ApproximateReceiveCount", "1") if isinstance(attributes, Mapping) else 1
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 1


def to_delivery(record: SqsRecord, *, traced: bool = False) -> Delivery:
    """One record of a Lambda SQS event, as the long-polling worker would have received it;
    `traced`: with the trace context its attributes carry (`stringValue`, Lambda's spelling)."""
    body = record.get("body")
    message, request_id = (
        decode_message_with_request_id(body) if isinstance(body, str) else (None, None)
    )
    return Delivery(
        receipt=str(record.get("receiptHandle", "")),
        message=message,
        receive_count=_receive_count(record),
        request_id=request_id,
        trace=carrier_from(record.get("messageAttributes")) if traced else None,
    )


async def handle_records(
    records: Sequence[SqsRecord],
    store: MessageStore,
    publisher: EventPublisher,
    *,
    spans: ProcessSpans | None = None,
) -> list[str]:
    """Deliver the records of one SQS event; return the `messageId` of each one that was not
    delivered, in record order. `spans`: when tracing is on."""
    # No consumer side: the event source mapping receives, and deletes what is not reported.
    traced = spans is not None
    deliveries = [to_delivery(record, traced=traced) for record in records]
    outcomes = await deliver_batch(deliveries, store, publisher, spans=spans)
    return [
        str(record["messageId"]) for record, ok in zip(records, outcomes, strict=True) if not ok
    ]


def lambda_settings(environ: Mapping[str, str]) -> Settings:
    """`Settings.from_env` for the function: always external mode (there is no local stack to
    start in Lambda). A delivery worker verifies no tokens and its role builds no verifier, so
    the function needs no INBOXQL_JWT_SECRET or JWKS."""
    stack = environ.get("INBOXQL_STACK", "external")
    if stack != "external":
        raise SettingsError(f"the Lambda worker needs INBOXQL_STACK=external, got {stack!r}")
    return Settings.from_env(dict(environ, INBOXQL_STACK="external"), verifies_tokens=False)


# --- the container's state ----------------------------------------------------------------
#
# Lambda runs one invocation at a time per container and then freezes the container, reusing it
# (and this module's globals) for later invocations. The clients (aiobotocore's HTTP pools, the
# Redis connections) belong to the event loop they were opened on, so one loop is created for
# the container's life and every invocation runs on it. `asyncio.run()` per invocation would
# close its loop on return and leave the clients dead (or force rebuilding them every time).
# Nothing is created at import: the first invocation builds the clients.


@dataclass
class _Container:
    loop: asyncio.AbstractEventLoop
    resources: AsyncExitStack = field(default_factory=AsyncExitStack)
    app: App | None = None

    async def ensure_app(self) -> App:
        if self.app is None:
            settings = lambda_settings(os.environ)
            self.app = await self.resources.enter_async_context(
                bootstrap(settings, AwsEndpoints(), role="lambda")
            )
            log.info("clients ready: table %s, queue %s", settings.table_name, settings.queue_name)
        return self.app

    async def handle(self, records: Sequence[SqsRecord]) -> list[str]:
        app = await self.ensure_app()
        try:
            return await handle_records(records, app.store, app.hub, spans=process_spans(app))
        finally:
            if app.tracing is not None:
                # Before the container is frozen, with the exporter's thread.
                app.tracing.flush()


_container: _Container | None = None


def handler(event: Mapping[str, Any], context: object) -> BatchResponse:
    """The Lambda entry point for an SQS event. An exception (e.g. the clients cannot be built)
    fails the whole batch, which SQS then redelivers; that is safe, since delivery is
    idempotent."""
    global _container  # noqa: PLW0603  # one per Lambda container, by design (see above)
    if _container is None:
        _container = _Container(asyncio.new_event_loop())
    records: Sequence[SqsRecord] = event.get("Records") or []
    failed = _container.loop.run_until_complete(_container.handle(records))
    if failed:
        log.warning("%d of %d records not delivered; SQS retries them", len(failed), len(records))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def reset() -> None:
    """Close the container's clients and its event loop; the next invocation starts afresh.
    Lambda itself never needs this (it just freezes or discards the container); tests do."""
    global _container
    container, _container = _container, None
    if container is None:
        return
    loop = container.loop
    try:
        loop.run_until_complete(container.resources.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
