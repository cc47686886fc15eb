"""The one place where failures become GraphQL errors with `extensions.code`.

Domain errors keep their message and code. Errors that graphql-core raises itself (parse,
validation, variable coercion) are the client's mistake: BAD_USER_INPUT. Anything else is a bug
or an outage: logged here with its stack, shown to the client as a masked INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging
import re

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.types.execution import ExecutionResult

from services.errors import InboxError, RateLimited

log = logging.getLogger("inboxql.errors")

INTERNAL_MESSAGE = "Internal server error"
# graphql-core's hints name fields and types the client did not ask for: a map of the schema
# for whoever probes it with typos.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def to_client_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if original is None or isinstance(original, GraphQLError):
        return _with(error, error.message, code or "BAD_USER_INPUT")
    if isinstance(original, InboxError) and original.code != "INTERNAL_SERVER_ERROR":
        return _with(error, original.message, original.code, client_details(original))
    log.error("unexpected error at %s", error.path, exc_info=original)
    return _with(error, INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR")


def client_details(error: InboxError) -> dict[str, object]:
    """What a client needs besides the code to act on the error."""
    if isinstance(error, RateLimited):
        return {"retryAfterSeconds": error.retry_after_seconds}
    return {}


def _with(
    error: GraphQLError, message: str, code: str, details: dict[str, object] | None = None
) -> GraphQLError:
    extensions = {**(error.extensions or {}), **(details or {}), "code": code}
    return _copy(error, message, extensions, original_error=None)


def _copy(
    error: GraphQLError,
    message: str,
    extensions: dict[str, object] | None,
    *,
    original_error: Exception | None,
) -> GraphQLError:
    """`error` at the same place in the document, with another message and extensions."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original_error,
        extensions=extensions,
    )


def without_suggestions(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return _copy(error, message, error.extensions, original_error=error.original_error)


def map_errors_in_place(errors: list[GraphQLError]) -> None:
    errors[:] = [error if _is_mapped(error) else to_client_error(error) for error in errors]


def map_result_errors(result: object, *, hide_suggestions: bool) -> None:
    """Every error of an operation's result (or of one result of a subscription's stream)
    given its code; with `hide_suggestions`, without graphql-core's \"Did you mean\" hints."""
    if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
        mapped = list(result.errors)
        map_errors_in_place(mapped)
        if hide_suggestions:
            mapped = [without_suggestions(error) for error in mapped]
        result.errors = mapped


def _is_mapped(error: GraphQLError) -> bool:
    return error.original_error is None and "code" in (error.extensions or {})
