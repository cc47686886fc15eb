"""What goes back over HTTP: a status and a GraphQL-shaped JSON body in the negotiated media type.

In `application/graphql-response+json` the status says what happened (a request error is 4xx
without `data`, nobody signed in is 401); in the legacy `application/json` every well-formed
request gets 200, as the GraphQL-over-HTTP specification asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import orjson
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.http import process_result
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from schema.transport.http_negotiation import APPLICATION_JSON

UNAUTHENTICATED = "UNAUTHENTICATED"
RATE_LIMITED = "RATE_LIMITED"


class RequestRefused(Exception):
    """A request refused before any GraphQL work: an HTTP error status with a GraphQL-shaped
    body (`errors`, no `data`) in whichever media type the client accepts."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "BAD_USER_INPUT",
        headers: Mapping[str, str] | None = None,
        legacy_status: int | None = None,
    ) -> None:
        """`legacy_status`, when given, replaces `status` in application/json."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.legacy_status = legacy_status


def refusal_response(media_type: str, refused: RequestRefused) -> Response:
    error = GraphQLError(refused.message, extensions={"code": refused.code})
    status = refused.status
    if refused.legacy_status is not None and media_type == APPLICATION_JSON:
        status = refused.legacy_status
    response = json_response(media_type, status, {"errors": [error.formatted]})
    response.headers.update(refused.headers)
    return response


@dataclass
class EncodedResult(ExecutionResult):
    """An answer without errors together with its JSON body, which is the same in either media
    type (status 200, the whole result): sent as it is, without encoding it again. A kept answer
    (schema/transport/response_cache.py) comes back with this body alone, `data` None."""

    body: bytes = b""


def encoded_body(result: ExecutionResult) -> bytes:
    """The body `result_response` sends for a result without errors, in any media type."""
    return orjson.dumps(process_result(result))


def result_response(media_type: str, result: ExecutionResult, sub_response: Response) -> Response:
    """`sub_response` is what resolvers saw as `info.context.response`."""
    if isinstance(result, EncodedResult):
        status = 200
        response = encoded_response(media_type, status, result.body)
    else:
        status, body = status_and_body(media_type, result)
        response = json_response(media_type, status, body)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="inboxql"'
    retry_after = _retry_after(result)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    # What resolvers add to `info.context.response` (headers, background tasks), as
    # Strawberry's own create_response does. The status code stays the protocol's.
    response.headers.raw.extend(sub_response.headers.raw)
    if sub_response.background:
        response.background = sub_response.background
    return response


def status_and_body(media_type: str, result: ExecutionResult) -> tuple[int, dict[str, object]]:
    body = cast(dict[str, object], process_result(result))
    codes = {(error.extensions or {}).get("code") for error in result.errors or []}
    if media_type != APPLICATION_JSON and result.data is None and codes == {UNAUTHENTICATED}:
        # Nothing ran because nobody is signed in: the specification asks for 401 (or 403)
        # when the client may not issue the request, and a 4xx carries no `data`.
        body.pop("data", None)
        return 401, body
    if not _never_executed(result):
        # Executed, maybe with field errors; `data: null` too for application/json.
        return 200, body
    if media_type == APPLICATION_JSON:
        # The legacy media type: 200 for every well-formed request, as before.
        return 200, body
    # A request error has no `data` entry, and in this media type a 4xx/5xx status.
    body.pop("data", None)
    if codes == {RATE_LIMITED}:
        return 429, body
    return (500 if "INTERNAL_SERVER_ERROR" in codes else 400), body


def json_response(media_type: str, status: int, body: object) -> Response:
    # orjson: a fifth of json.dumps's time, UTF-8 as the media type says. (WebSocket frames
    # keep Strawberry's `encode_json`: bytes from it would go out as binary frames.)
    return encoded_response(media_type, status, orjson.dumps(body))


def encoded_response(media_type: str, status: int, body: bytes) -> Response:
    response = Response(body, status_code=status, media_type=f"{media_type}; charset=utf-8")
    # The body's media type depends on Accept: caches must key on it.
    response.headers["Vary"] = "Accept"
    return response


def _retry_after(result: ExecutionResult) -> int | None:
    """The longest wait any RATE_LIMITED error asks for, as an HTTP Retry-After value."""
    waits = [
        wait
        for error in result.errors or []
        if (error.extensions or {}).get("code") == "RATE_LIMITED"
        and isinstance(wait := (error.extensions or {}).get("retryAfterSeconds"), int)
    ]
    return max(waits, default=None)


def _never_executed(result: ExecutionResult) -> bool:
    """Whether the result is a GraphQL request error: the operation never began executing
    (parse, validation, operation selection, variable coercion). Strawberry marks the first
    ones as PreExecutionError; graphql-core reports variable coercion failures as a result
    with no data whose errors have no path, which no field error can be (each has its path)."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)
