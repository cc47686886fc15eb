"""Per-operation metrics, and a request id per WebSocket operation, as a Strawberry extension.

Operations are labelled by their root fields (`me+messages`, `sendMessage`), never by the
client's operation name: that is any string a client likes, and every new one would be a new
time series. A document that never got as far as executing (it did not parse or validate) is
`unknown`, since only a valid document's root fields are known to be the schema's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from resolvers.context import Context
from services.observability.request_ids import bind_request_id, new_request_id
from services.ports import Metrics

UNKNOWN = "unknown"
OK = "ok"
INTERNAL = "INTERNAL_SERVER_ERROR"
# Raised out of an operation for the transport to answer; every transport answers them as the
# client's mistake.
REQUEST_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def root_fields(operation: OperationDefinitionNode, document: DocumentNode) -> str:
    """The operation's root field names (not aliases), through fragments, sorted, joined by
    '+'."""
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    names: set[str] = set()

    def collect(selections: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    collect(fragments[name].selection_set, seen | {name})

    collect(operation.selection_set, frozenset())
    return "+".join(sorted(names)) or UNKNOWN


def outcome_of(result: object) -> str:
    """`ok`, or the code of the operation's error; an internal error outranks the client's."""
    errors = getattr(result, "errors", None) or []
    codes = [(error.extensions or {}).get("code") for error in errors]
    if not codes:
        return OK
    if INTERNAL in codes:
        return INTERNAL
    return codes[0] if isinstance(codes[0], str) else INTERNAL


class OperationMetrics(SchemaExtension):
    """Counts each operation by root fields, type and outcome; times queries and mutations;
    keeps the live subscriptions gauge.

    It must come first in the schema's extensions, so that it is the outermost: it then sees
    the errors after `ErrorCodes` has given each its code. For a subscription the operation
    lasts as long as the subscription, so it is counted when it ends."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics
        self.operation = UNKNOWN
        self.operation_type = UNKNOWN
        self.live_subscription: str | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and isinstance(context.request, WebSocket):
            # One socket carries many operations, each in its own task: each gets its own id
            # (an HTTP request already has one, from the request id middleware).
            bind_request_id(new_request_id())
        started = time.perf_counter()
        outcome: str | None = None
        try:
            yield
        except REQUEST_ERRORS:
            outcome = "BAD_USER_INPUT"
            raise
        except Exception:
            outcome = INTERNAL
            raise
        finally:
            # Also on cancellation: that is how a subscription ends when its client leaves.
            if self.live_subscription is not None:
                self.metrics.subscription_ended(self.live_subscription)
            if outcome is None:
                outcome = outcome_of(self.execution_context.result)
            timed = self.operation_type in (OperationType.QUERY.value, OperationType.MUTATION.value)
            self.metrics.operation_finished(
                self.operation,
                self.operation_type,
                outcome,
                time.perf_counter() - started if timed else None,
            )

    def on_execute(self) -> Iterator[None]:
        # Reached only by a document that parsed and validated.
        document = self.execution_context.graphql_document
        operation = (
            get_operation_ast(document, self.execution_context.operation_name)
            if document is not None
            else None
        )
        if document is not None and operation is not None:
            self.operation = root_fields(operation, document)
            self.operation_type = operation.operation.value
            if operation.operation is OperationType.SUBSCRIPTION:
                self.live_subscription = self.operation
                self.metrics.subscription_started(self.live_subscription)
        yield
