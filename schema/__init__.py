"""The GraphQL schema: types, inputs, root fields and the extensions every request runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import ASTValidationRule, NoSchemaIntrospectionCustomRule
from graphql.error import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types.execution import ExecutionContext

from schema.errors import map_errors_in_place
from schema.events import EVENT_TYPES
from schema.executor import InboxExecutionContext
from schema.mutation_rule import OneRootFieldPerMutation
from schema.operation import (
    DocumentChecks,
    InboxOperation,
    OperationRunner,
    TracedOperationRunner,
)
from schema.root import Mutation, Query, Subscription
from services.disabled import NO_METRICS
from services.observability.tracing import Tracing
from services.ports import Metrics

# The limits every document must pass at validation, before any resolver runs.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000


class InboxSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry calls this for the errors that end an operation before it executes, and
        # for an exception raised by an extension's hook. ErrorCodes never sees the latter (its
        # hook's end does not run), so without this its raw message would reach the client,
        # unlogged. Mapped in place; ErrorCodes leaves what is mapped alone, and has logged
        # what deserves a log line.
        map_errors_in_place(errors)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return OperationRunner(execution_context, extensions)


class TracedInboxSchema(InboxSchema):
    """The schema with tracing on: its runner enters the operation's span too."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return TracedOperationRunner(execution_context, extensions)


def build_schema(
    metrics: Metrics = NO_METRICS, *, introspection: bool = True, tracing: Tracing | None = None
) -> strawberry.Schema:
    """`metrics` receives every operation's count, time and outcome. Without `introspection`,
    `__schema`/`__type` fail validation and errors carry no "Did you mean" hints. With
    `tracing`, each operation is a span (schema/tracing.py); without it, nothing is traced."""
    # The rules are built once, here. Each limiter makes a new rule class when it is constructed,
    # and validation results are cached by document *and rules*: limiters built per operation
    # would make every request miss the cache (validation is ~1 ms of a small request).
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
        OneRootFieldPerMutation,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    checks = DocumentChecks(rules, max_tokens=MAX_TOKENS)

    def operation() -> InboxOperation:
        # Strawberry builds an extension per operation; the caches behind it are the schema's.
        return InboxOperation(checks, metrics, hide_suggestions=not introspection)

    extensions: list[Callable[[], SchemaExtension]] = [operation]
    if tracing is not None:
        from schema.tracing import OperationTracing  # noqa: PLC0415  # the SDK, only when on

        tracer = tracing.provider.get_tracer("strawberry")

        def traced() -> SchemaExtension:
            return OperationTracing(tracer)

        # First, so that its span holds everything the operation does.
        extensions.insert(0, traced)
    kind = InboxSchema if tracing is None else TracedInboxSchema
    return kind(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Only the `InboxEvent` interface is named by a field: its kinds are listed here.
        types=EVENT_TYPES,
        extensions=extensions,
        execution_context_class=InboxExecutionContext,
    )
