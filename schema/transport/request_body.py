"""A GraphQL-over-HTTP request's parameters: a POST body (UTF-8 JSON within the size limit) or a
GET query string, shaped as the specification says. Anything else is refused before any GraphQL
work (schema/transport/http_responses.py).

JSON is parsed by orjson, which refuses what is not strictly JSON: NaN and Infinity, numbers out
of a double's range, nesting deeper than 1,024, and lone UTF-16 surrogates (`"\\ud800"`). The
standard library accepts the last and yields a string that cannot be encoded again, which failed
much later (an HTTP 500, a message or an idempotency key half stored).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from strawberry.http.parse_content_type import parse_content_type

from schema.transport.http_negotiation import APPLICATION_JSON
from schema.transport.http_responses import RequestRefused


class GraphQLParams:
    """A well-formed GraphQL-over-HTTP request (query may still be absent when the persisted
    query extension stands in for it)."""

    def __init__(self, body: object) -> None:
        if not isinstance(body, dict):
            raise RequestRefused(400, "the request body must be a JSON object")
        query = _optional(body, "query", str)
        variables = _optional(body, "variables", dict)
        extensions = _optional(body, "extensions", dict)
        operation_name = _optional(body, "operationName", str)
        # An empty document is no document; an empty operation name is no name (as over GET).
        self.query: str | None = query or None
        self.variables: dict[str, Any] | None = variables
        self.extensions: dict[str, Any] | None = extensions
        self.operation_name: str | None = operation_name or None


def _optional(body: dict[str, Any], name: str, kind: type[str] | type[dict[str, Any]]) -> Any:
    """`body[name]` if absent/null or of `kind`; otherwise the request is malformed."""
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        what = "a string" if kind is str else "an object"
        raise RequestRefused(400, f"`{name}` must be {what}")
    return value


async def read_json_body(request: Request, max_bytes: int) -> object:
    if not _is_json_utf8(request.headers.get("content-type") or ""):
        # Form and multipart posts are refused: browsers send them cross-site without a
        # CORS preflight (CSRF).
        raise RequestRefused(
            415,
            f"the request body must be {APPLICATION_JSON} (UTF-8)",
            headers={"Accept-Post": APPLICATION_JSON},
        )
    body = await _read_at_most(request, max_bytes)
    try:
        # Invalid UTF-8 is refused too, and a byte order mark.
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestRefused(400, "the request body is not valid JSON") from None


# The parameters a GET request may carry; any other is ignored, as the specification allows.
_GET_PARAMETERS = frozenset({"query", "variables", "operationName", "extensions"})
_JSON_PARAMETERS = ("variables", "extensions")


def has_graphql_parameters(query_string: bytes) -> bool:
    """Whether a GET asks for an operation (GET without them is for the IDE)."""
    return any(
        name in _GET_PARAMETERS
        for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    )


def params_from_query_string(query_string: bytes) -> GraphQLParams:
    """A GET request's parameters: `variables` and `extensions` are JSON, URL-encoded. An empty
    one is an absent one."""
    try:
        pairs = parse_qsl(query_string.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise RequestRefused(400, "the query string is not valid UTF-8") from None
    found: dict[str, object] = {}
    for name, value in pairs:
        if name not in _GET_PARAMETERS:
            continue
        if name in found:
            raise RequestRefused(400, f"`{name}` is given more than once")
        found[name] = value or None
    for name in _JSON_PARAMETERS:
        text = found.get(name)
        if isinstance(text, str):
            try:
                found[name] = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise RequestRefused(400, f"`{name}` is not valid JSON") from None
    return GraphQLParams(found)


async def _read_at_most(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes: from its
    declared Content-Length before reading any of it, or while it streams in."""
    declared = request.headers.get("content-length", "")
    too_large = RequestRefused(413, f"the request body is larger than {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@lru_cache(maxsize=64)
def _is_json_utf8(content_type: str) -> bool:
    """Whether a Content-Type is application/json in UTF-8 (the default charset). Memoised:
    the parser behind it (the email package's) costs more than a small request's JSON."""
    media_type, parameters = parse_content_type(content_type)
    charset = parameters.get("charset", "utf-8").lower()
    return media_type.lower() == APPLICATION_JSON and charset == "utf-8"
