"""The operation's span, when tracing is on: Strawberry's OpenTelemetry extension, adjusted.

- Its operation span is made current for the operation's life, so that what the resolvers
  call (the queue's producer span, DynamoDB's and Redis's client spans) are its children.
  Strawberry's own only starts it, and parents its per-field spans on it by hand.
- No per-field spans: one span per resolved field would cost more than the page it serves,
  and most fields never reach a resolver anyway (schema/executor.py serves plain fields
  without graphql-core's resolve path, so no field hook would see them).
- Each subscription result pushed because of a published event is a span of its own, the
  child of the publish that sent the event (services/redis/traced_hub.py), linked to the
  subscription's operation span.

The schema includes it only when tracing is on (`build_schema(tracing=...)`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from typing import Any

from graphql import GraphQLError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

from services.observability.trace_carrier import context_from, pushed_event_trace


class OperationTracing(OpenTelemetryExtension):
    # SchemaExtension's: Strawberry then wraps no resolver in a span (`_implements_resolve`).
    resolve = SchemaExtension.resolve  # type: ignore[assignment]

    def __init__(self, tracer: Tracer) -> None:
        # One tracer for the schema's life, not one looked up per operation.
        self._tracer = tracer
        self._arg_filter = None
        self._span_holder = {}

    def on_operation(self) -> Generator[None, None, None]:
        context = self.execution_context
        span = self._tracer.start_span("GraphQL Operation", kind=SpanKind.SERVER)
        self._span_holder[LifecycleStep.OPERATION] = span
        if context.query:
            span.set_attribute("graphql.document", context.query)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
            _mark_errors(span, context.result)
        except Exception as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            otel_context.detach(token)
            _name_operation(span, context)
            span.end()

    @contextlib.contextmanager
    def operation_span(self) -> Iterator[None]:
        """`on_operation`, as schema/operation.py's runner enters it."""
        yield from self.on_operation()

    def on_stream_result(self, result: Any) -> Iterator[None]:
        yield from self._pushed_result()

    @contextlib.contextmanager
    def pushed_result_span(self) -> Iterator[None]:
        """`on_stream_result`, as schema/operation.py's runner enters it."""
        yield from self._pushed_result()

    def _pushed_result(self) -> Iterator[None]:
        carrier = pushed_event_trace.get()
        if carrier is None:
            yield
            return
        # Used once: a result the subscription makes of its own (a re-read after a gap) has
        # no publish behind it.
        pushed_event_trace.set(None)
        operation = self._span_holder.get(LifecycleStep.OPERATION)
        links = [Link(operation.get_span_context())] if operation is not None else []
        with self._tracer.start_as_current_span(
            f"push {self.execution_context.operation_name or 'subscription'}",
            context=context_from(carrier),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "redis",
                "messaging.operation.type": "process",
                "messaging.operation.name": "push",
                "graphql.operation.type": "subscription",
            },
        ):
            yield


def _name_operation(span: trace.Span, context: Any) -> None:
    """Known once the document is parsed: `mutation SendMessage`, `query`..."""
    try:
        kind: str | None = context.operation_type.value
    except (RuntimeError, GraphQLError):  # not parsed, or no such operation in it
        kind = None
    name = context.operation_name
    if kind is not None:
        span.set_attribute("graphql.operation.type", kind)
        span.update_name(f"{kind} {name}" if name else kind)
    if name:
        span.set_attribute("graphql.operation.name", name)


def _mark_errors(span: trace.Span, result: Any) -> None:
    """An answer with errors is an error span, named by their codes (schema/errors.py gave
    every one its code on the way out)."""
    errors = getattr(result, "errors", None)
    if errors:
        codes = sorted({str((error.extensions or {}).get("code", "ERROR")) for error in errors})
        span.set_status(Status(StatusCode.ERROR, ",".join(codes)))
