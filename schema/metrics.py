"""Per-operation metrics, and a request id per WebSocket operation.

Operations are labelled by their root fields (`me+messages`, `sendMessage`), never by the
client's operation name: that is any string a client likes, and every new one would be a new
time series. A document that never got as far as executing (it did not parse or validate) is
`unknown`, since only a valid document's root fields are known to be the schema's.
"""

from __future__ import annotations

import time

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
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionContext

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


class OperationMeter:
    """One operation's metrics: counted by root fields, type and outcome; queries and
    mutations timed; the live subscriptions gauge kept. For a subscription the operation lasts
    as long as the subscription, so it is counted when it ends. schema/operation.py calls it
    around everything else, so that it sees each error with the code it was given."""

    __slots__ = ("live_subscription", "metrics", "operation", "operation_type", "started")

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.operation = UNKNOWN
        self.operation_type = UNKNOWN
        self.live_subscription: str | None = None
        self.started = 0.0

    def begin(self, execution_context: ExecutionContext) -> None:
        context = execution_context.context
        if isinstance(context, Context) and isinstance(context.request, WebSocket):
            # One socket carries many operations, each in its own task: each gets its own id
            # (an HTTP request already has one, from the request id middleware).
            bind_request_id(new_request_id())
        self.started = time.perf_counter()

    def executing(self, execution_context: ExecutionContext) -> None:
        """Reached only by a document that parsed and validated."""
        document = execution_context.graphql_document
        operation = (
            get_operation_ast(document, execution_context.operation_name)
            if document is not None
            else None
        )
        if document is not None and operation is not None:
            self.operation = root_fields(operation, document)
            self.operation_type = operation.operation.value
            if operation.operation is OperationType.SUBSCRIPTION:
                self.live_subscription = self.operation
                self.metrics.subscription_started(self.live_subscription)

    def end(self, execution_context: ExecutionContext, outcome: str | None) -> None:
        """`outcome`: the code of what ended the operation by raising, None if it returned."""
        if self.live_subscription is not None:
            self.metrics.subscription_ended(self.live_subscription)
        if outcome is None:
            outcome = outcome_of(execution_context.result)
        timed = self.operation_type in (OperationType.QUERY.value, OperationType.MUTATION.value)
        self.metrics.operation_finished(
            self.operation,
            self.operation_type,
            outcome,
            time.perf_counter() - self.started if timed else None,
        )
