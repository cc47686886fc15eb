"""The one mapping from failures to GraphQL `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from graphql.error import GraphQLError
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.context import Context
from schema import InboxSchema, build_schema
from schema.errors import INTERNAL_MESSAGE, to_client_error
from schema.operation import DocumentChecks, InboxOperation
from schema.root import Query
from services.app import App, RoleParts
from services.disabled import NO_METRICS
from services.domain import UserId
from services.errors import (
    BadUserInput,
    DependencyUnavailable,
    Forbidden,
    InboxError,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from services.settings import Settings


def raised(original: Exception | None, message: str = "field failed") -> GraphQLError:
    return GraphQLError(message, path=["messages"], original_error=original)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (BadUserInput("`first` must be between 1 and 100"), "BAD_USER_INPUT"),
        (Unauthenticated("token expired"), "UNAUTHENTICATED"),
        (Forbidden("not yours"), "FORBIDDEN"),
        (NotFound("no such thing"), "NOT_FOUND"),
    ],
)
def test_domain_errors_keep_their_message_and_code(error: InboxError, code: str) -> None:
    mapped = to_client_error(raised(error))
    assert mapped.message == error.message
    assert mapped.extensions == {"code": code}
    assert mapped.path == ["messages"]


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boto3 exploded at table arn:aws:dynamodb:secret"),
        DependencyUnavailable("redis: connection refused to 10.0.0.5"),
        InboxError("inbox entry without a body"),
        KeyError("Item"),
    ],
)
def test_everything_else_is_masked(error: Exception) -> None:
    mapped = to_client_error(raised(error))
    assert mapped.message == INTERNAL_MESSAGE
    assert mapped.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert mapped.original_error is None
    assert str(error) not in str(mapped.formatted)


def test_errors_graphql_raises_itself_are_the_clients() -> None:
    mapped = to_client_error(raised(None, "Cannot query field 'nope' on type 'Query'."))
    assert mapped.message == "Cannot query field 'nope' on type 'Query'."
    assert mapped.extensions == {"code": "BAD_USER_INPUT"}


def test_a_code_already_set_is_kept() -> None:
    error = GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    assert to_client_error(error).extensions == {"code": "UNAUTHENTICATED"}


class FailingInbox:
    async def unread_count(self, user_id: UserId) -> int:
        raise RuntimeError("secret arn:aws:dynamodb:us-east-1:123:table/inboxql")

    async def watch_unread_count(self, user_id: UserId) -> AsyncIterator[int]:
        yield 3
        raise RuntimeError("secret arn:aws:dynamodb:us-east-1:123:table/inboxql")

    async def watch_messages(self, user_id: UserId) -> AsyncIterator[object]:
        raise BadUserInput("a rule said no")
        yield


def failing_context() -> Context:
    app = cast(App, SimpleNamespace(inbox=FailingInbox(), built=RoleParts(), settings=Settings()))
    return Context(app=app, request=cast(Request, None), response=None, user_id=UserId("alice"))


async def test_query_errors_are_masked_through_the_schema() -> None:
    result = await build_schema().execute("{ unreadCount }", context_value=failing_context())
    assert result.errors is not None
    assert [(e.message, e.extensions) for e in result.errors] == [
        (INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"})
    ]


async def test_subscription_errors_are_mapped_as_they_are_sent() -> None:
    schema = build_schema()
    stream = await schema.subscribe("subscription { unreadCount }", context_value=failing_context())
    assert not isinstance(stream, ExecutionResult)
    results = [item async for item in stream]
    assert results[0].data == {"unreadCount": 3}
    assert [(e.message, e.extensions) for e in results[-1].errors or []] == [
        (INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"})
    ]
    stream = await schema.subscribe(
        "subscription { messageReceived { id } }", context_value=failing_context()
    )
    assert not isinstance(stream, ExecutionResult)
    refused = [item async for item in stream]
    assert [(e.message, e.extensions) for e in refused[-1].errors or []] == [
        ("a rule said no", {"code": "BAD_USER_INPUT"})
    ]


@pytest.mark.parametrize(
    "query",
    ["{ unreadCount ", "{ " + "unreadCount " * 2001 + "}", "{ nosuch }", "{ unreadCount }}"],
)
async def test_parse_and_validation_errors_are_bad_user_input(query: str) -> None:
    schema = build_schema()
    for _ in range(2):  # the second time through the parse cache
        result = await schema.execute(query, context_value=failing_context())
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("introspection", [True, False])
async def test_did_you_mean_hints_only_with_introspection(introspection: bool) -> None:
    result = await build_schema(introspection=introspection).execute("{ unreadCont }")
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT"}
    assert ("Did you mean" in error.message) is introspection
    assert error.message.startswith("Cannot query field 'unreadCont' on type 'Query'.")


def test_rate_limited_carries_its_retry_hint() -> None:
    mapped = to_client_error(raised(RateLimited("slow down", retry_after_seconds=7)))
    assert mapped.message == "slow down"
    assert mapped.extensions == {"code": "RATE_LIMITED", "retryAfterSeconds": 7}


class RaisingExtension(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        raise RuntimeError("secret arn:aws:dynamodb:us-east-1:123:table/inboxql")
        yield  # a generator hook, as Strawberry runs them


def inbox_operation() -> InboxOperation:
    return InboxOperation(DocumentChecks([], max_tokens=100), NO_METRICS, hide_suggestions=False)


@pytest.mark.parametrize("outermost", ["InboxOperation", "the raising extension"])
async def test_an_extension_that_raises_is_masked_and_logged(
    outermost: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Strawberry builds the result of a raising hook outside the operation's hooks, where
    # InboxOperation's own hook never sees it: the schema maps it on its way out instead.
    extensions: list[Any] = [inbox_operation, RaisingExtension]
    if outermost != "InboxOperation":
        extensions.reverse()
    schema = InboxSchema(query=Query, extensions=extensions)
    with caplog.at_level(logging.ERROR, logger="inboxql.errors"):
        result = await schema.execute("{ __typename }")
    assert result.errors is not None
    [error] = result.errors
    assert error.message == INTERNAL_MESSAGE
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in str(error.formatted)
    assert "secret arn" in caplog.text
