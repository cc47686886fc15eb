"""What every operation goes through besides its resolvers, as one Strawberry extension.

Strawberry builds each extension's hooks anew for every operation (a context manager per hook,
found by introspection), and a subscription holds its `on_operation` and `on_execute` hooks
open for its whole life. Eight extensions cost an executed request more than its root field,
and an idle subscription kilobytes (docs/performance.md, issue 14). So the steps live in their
own modules as plain code, and this one extension runs them in their order:

- on_operation: the metrics around everything (schema/metrics.py), the errors given their codes
  inside them (schema/errors.py), so that the metrics see the codes; the token limit set for
  the parse that follows;
- on_parse and on_validate: the document from the process-wide cache (schema/parsing.py), its
  validation errors from the schema's;
- on_execute: the rate limit for WebSocket operations (schema/read_limit.py), then the message
  node limit (schema/message_nodes.py), after validation, since they need the variables.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    specified_rules,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import StreamExecutionResult
from strawberry.types.execution import ExecutionContext

from schema.errors import map_result_errors
from schema.message_nodes import check_message_nodes
from schema.metrics import INTERNAL, REQUEST_ERRORS, OperationMeter
from schema.node_memo import NodeMemo
from schema.parsing import parse_cached
from schema.read_limit import admit_websocket_operation
from services.ports import Metrics

# Documents whose validation is kept, per schema: every client's few documents, many times over.
CACHED_VALIDATIONS = 256


class DocumentChecks:
    """One schema's validation: its rules, built once, and what they found in each document.

    Keyed by the document itself: the parse cache hands out the same node for the same text,
    so a repeated query is a dictionary lookup, without hashing its tree."""

    def __init__(self, rules: Sequence[type[ASTValidationRule]], max_tokens: int) -> None:
        # graphql-core's own rules, then ours.
        self.rules = (*specified_rules, *rules)
        self.max_tokens = max_tokens
        self._found: NodeMemo[list[GraphQLError]] = NodeMemo(CACHED_VALIDATIONS)

    def errors(self, schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
        """`schema`: always the one these checks were built for."""
        found = self._found.get(
            id(document), document, lambda: validate(schema, document, self.rules)
        )
        # A copy: the errors are mapped in place on their way out.
        return list(found)


class InboxOperation(SchemaExtension):
    def __init__(self, checks: DocumentChecks, metrics: Metrics, *, hide_suggestions: bool) -> None:
        super().__init__()
        self.checks = checks
        self.meter = OperationMeter(metrics)
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.checks.max_tokens
        self.meter.begin(context)
        outcome: str | None = None
        try:
            yield
            map_result_errors(context.result, hide_suggestions=self.hide_suggestions)
        except REQUEST_ERRORS:
            outcome = "BAD_USER_INPUT"
            raise
        except Exception:
            outcome = INTERNAL
            raise
        finally:
            # Also on cancellation: that is how a subscription ends when its client leaves.
            self.meter.end(context, outcome)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            # A document that does not parse is left to Strawberry, which parses it again
            # inside its own error handling, so that the syntax error gets its code.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = parse_cached(context.query, self.checks.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            document = context.graphql_document
            context.pre_execution_errors = self.checks.errors(context.schema._schema, document)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        self.meter.executing(context)
        # The rate limit first, so that an operation refused for its size still counts.
        await admit_websocket_operation(context)
        check_message_nodes(context)
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each subscription result is sent before the operation ends: map it on its way out.
        map_result_errors(result, hide_suggestions=self.hide_suggestions)
        yield


# InboxOperation's hooks as context managers, wrapped once here rather than per operation.
_OPERATION = contextlib.contextmanager(InboxOperation.on_operation)
_PARSE = contextlib.contextmanager(InboxOperation.on_parse)
_VALIDATE = contextlib.contextmanager(InboxOperation.on_validate)
_EXECUTE = contextlib.asynccontextmanager(InboxOperation.on_execute)
_STREAM_RESULT = contextlib.contextmanager(InboxOperation.on_stream_result)


class _EitherWay:
    """A synchronous context manager that Strawberry may also enter with `async with`."""

    __slots__ = ("_manager",)

    def __init__(self, manager: AbstractContextManager[None]) -> None:
        self._manager = manager

    def __enter__(self) -> None:
        self._manager.__enter__()

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._manager.__exit__(*exc_info)

    async def __aenter__(self) -> None:
        self._manager.__enter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return self._manager.__exit__(*exc_info)


class OperationRunner(SchemaExtensionsRunner):
    """Strawberry's extension runner for a schema whose one extension is `InboxOperation`: its
    hooks are entered directly. Strawberry's own runner finds every hook of every extension by
    introspection and wraps it anew, for every operation and for every result a subscription
    streams. Any other list of extensions gets Strawberry's own behaviour."""

    def __init__(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None
    ) -> None:
        super().__init__(execution_context, extensions)
        only = self.extensions[0] if len(self.extensions) == 1 else None
        self.inbox = only if isinstance(only, InboxOperation) else None

    def operation(self) -> Any:
        return super().operation() if self.inbox is None else _EitherWay(_OPERATION(self.inbox))

    def parsing(self) -> Any:
        return super().parsing() if self.inbox is None else _EitherWay(_PARSE(self.inbox))

    def validation(self) -> Any:
        return super().validation() if self.inbox is None else _EitherWay(_VALIDATE(self.inbox))

    def executing(self) -> Any:
        return super().executing() if self.inbox is None else _EXECUTE(self.inbox)

    def on_stream_result(self, result: StreamExecutionResult) -> Any:
        if self.inbox is None:
            return super().on_stream_result(result)
        return _EitherWay(_STREAM_RESULT(self.inbox, result))


class OperationSpans(Protocol):
    """The tracing extension's spans, as the runner enters them (schema/tracing.py)."""

    def operation_span(self) -> AbstractContextManager[None]: ...

    def pushed_result_span(self) -> AbstractContextManager[None]: ...


@contextlib.contextmanager
def _inside(
    outer: AbstractContextManager[None], inner: AbstractContextManager[None]
) -> Iterator[None]:
    with outer, inner:
        yield


class TracedOperationRunner(OperationRunner):
    """The runner of a traced schema (tracing on), whose extensions are the tracing one and
    then `InboxOperation`: the same direct entry of InboxOperation's hooks, with the
    operation's span around them, and each pushed result's. The schema picks it when it is
    built, so an untraced operation never asks."""

    def __init__(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None
    ) -> None:
        super().__init__(execution_context, extensions)
        found = self.extensions
        self.spans: OperationSpans | None = None
        if len(found) == 2 and isinstance(found[1], InboxOperation):
            self.inbox = found[1]
            self.spans = cast(OperationSpans, found[0])

    def operation(self) -> Any:
        if self.inbox is None or self.spans is None:
            return super().operation()
        return _EitherWay(_inside(self.spans.operation_span(), _OPERATION(self.inbox)))

    def on_stream_result(self, result: StreamExecutionResult) -> Any:
        if self.inbox is None or self.spans is None:
            return super().on_stream_result(result)
        inner = _STREAM_RESULT(self.inbox, result)
        return _EitherWay(_inside(self.spans.pushed_result_span(), inner))
