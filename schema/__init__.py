"""The GraphQL schema: types, inputs, root fields and the extensions every request runs."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)

from schema.errors import ErrorCodes
from schema.metrics import OperationMetrics
from schema.parsing import CachedParser
from schema.root import Mutation, Query, Subscription
from services.metrics import NO_METRICS, Metrics


class InboxSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # ErrorCodes has already logged what deserves a log line; client mistakes do not.
        return None


def build_schema(metrics: Metrics = NO_METRICS) -> strawberry.Schema:
    """`metrics` receives every operation's count, time and outcome."""
    return InboxSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Factories: Strawberry builds extensions per operation; the parse and validation caches
        # behind CachedParser/ValidationCache are process-wide all the same.
        extensions=[
            # First, so outermost: it sees each error with the code ErrorCodes gives it.
            lambda: OperationMetrics(metrics),
            ErrorCodes,
            lambda: QueryDepthLimiter(max_depth=10),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=2000),
            CachedParser,
            lambda: ValidationCache(maxsize=256),
        ],
    )
