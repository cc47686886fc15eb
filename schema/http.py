"""The GraphQL endpoint: HTTP and `graphql-transport-ws` on one path, with authentication at the
edge and our GraphiQL page.

Over HTTP it follows the GraphQL-over-HTTP specification: the response media type is negotiated
(`application/graphql-response+json` or `application/json`), malformed requests get 4xx with a
GraphQL-shaped `errors` body, and Apollo's automatic persisted queries are understood.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast, overload

import orjson
from graphql import GraphQLError, OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from schema import MAX_TOKENS
from schema.context import Context
from schema.http_negotiation import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from schema.metrics import UNKNOWN
from schema.parsing import parse_cached
from schema.response_cache import InboxResponseCache, inbox_only_operation
from schema.websocket import InboxTransportWSHandler, LiveConnections, admit, origin_allowed
from services.bootstrap import App
from services.errors import Unauthenticated
from services.local.npm_assets import GRAPHIQL
from services.redis.persisted_queries import (
    MAX_DOCUMENT_BYTES,
    SUPPORTED_VERSION,
    document_hash,
    is_sha256_hex,
)
from services.tokens.verifiers import bearer_token

GRAPHIQL_TEMPLATE = Path(__file__).with_name("graphiql.html")


def inboxql_app(request: Request | WebSocket) -> App:
    app: App = request.state.inboxql
    return app


# Subscriptions are served over WebSocket only.
HTTP_OPERATION_TYPES = (OperationType.QUERY, OperationType.MUTATION)
PERSISTED_QUERY_NOT_FOUND = "PersistedQueryNotFound"
UNAUTHENTICATED = "UNAUTHENTICATED"


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


def _reject_nonfinite(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _client_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _operation_count(query: str) -> int:
    """How many operations the document defines. A document that does not parse raises;
    Strawberry reports why. Parsed through the schema's own parse cache, with its token bound,
    so the execution that follows does not parse it again."""
    document = parse_cached(query, MAX_TOKENS)
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


def _names_no_operation_of_several(params: GraphQLParams, query: str) -> bool:
    if params.operation_name is not None:
        return False
    try:
        return _operation_count(query) > 1
    except GraphQLError:
        return False


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


class InboxGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = InboxTransportWSHandler

    def __init__(
        self,
        schema: Schema,
        *,
        graphiql_headers: dict[str, str] | None,
        graphiql_assets: Mapping[str, str] | None = None,
        graphiql_tabs: Sequence[str] = (),
        response_cache: InboxResponseCache | None = None,
    ) -> None:
        """`graphiql_headers` None turns the IDE off; otherwise they prefill its headers.
        `graphiql_assets` maps each file of the GRAPHIQL bundle to the URL the page loads
        it from (None: the CDN). `graphiql_tabs` are documents, each opened in a tab."""
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_headers is not None else None,
            # Reads only over POST with a JSON body: no query via GET, no form posts (CSRF).
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # The WebSocket deadlines and limits come from settings, per connection: see
            # schema/websocket.py. The origins too: `is_websocket_origin_allowed` below.
        )
        self.live_connections = LiveConnections()
        self._responses = response_cache
        # Read once here, not per request: file reads would block the event loop.
        page = (
            GRAPHIQL_TEMPLATE.read_text()
            .replace(
                "__DEFAULT_HEADERS__", json.dumps(json.dumps(graphiql_headers or {}, indent=2))
            )
            # `</` could close the page's <script> early: JSON allows escaping the slash.
            .replace("__DEFAULT_TABS__", json.dumps(list(graphiql_tabs)).replace("</", "<\\/"))
        )
        urls = graphiql_assets or {name: GRAPHIQL.cdn_url(name) for name in GRAPHIQL.files}
        for name in GRAPHIQL.files:
            page = page.replace(f"__ASSET[{name}]__", html.escape(urls[name], quote=True))
        self._graphiql_page = page

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(app=inboxql_app(request), request=request, response=response)
        if isinstance(request, Request):
            try:
                token = bearer_token(request.headers.get("authorization"))
                await context.app.tokens.prepare(token)
                context.user_id = context.app.tokens.verify(token)
            except Unauthenticated as error:
                context.auth_error = error.message
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        await admit(context, self.live_connections)
        unset: UnsetType = UNSET
        return unset

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        return origin_allowed(inboxql_app(request).settings, origin)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._graphiql_page)

    # Strawberry's HTTP handling answers malformed requests in plain text, always in
    # application/json with 200 otherwise, and has no persisted queries. The HTTP half of `run`
    # is replaced to follow the GraphQL-over-HTTP specification; WebSockets keep Strawberry's.
    @overload
    async def run(
        self, request: Request, context: Context = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        if self.is_websocket_request(request):
            return await super().run(request, context, root_value)
        request = cast(Request, request)
        if request.method == "GET":
            return await self._get(request)
        accept = request.headers.get("accept")
        if request.method != "POST":
            return self._refused(
                request, negotiate(accept) or APPLICATION_JSON, self._method_refusal()
            )
        media_type = negotiate(accept)
        if media_type is None:
            return self._refused(
                request,
                APPLICATION_JSON,
                RequestRefused(
                    406, f"responses are {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON} only"
                ),
            )
        try:
            params = GraphQLParams(await self._read_json_body(request))
            query, registering = await self._resolve_persisted_query(request, params)
        except RequestRefused as refused:
            return self._refused(request, media_type, refused)

        sub_response = await self.get_sub_response(request)
        if context is UNSET:
            context = await self.get_context(request, response=sub_response)
        # No root value: the root fields are methods of Query and Mutation.
        if registering:
            result = await self._execute(query, params, context)
        else:
            result = await self._execute_or_reuse(query, params, context)
        if (
            registering
            and not isinstance(result, PreExecutionError)
            and context.user_id is not None
        ):
            # Only documents that parsed and validated, sent by an authenticated client, are
            # kept: anonymous clients cannot fill the store.
            await inboxql_app(request).persisted_queries.put(document_hash(query), query)
        status, body = self._status_and_body(media_type, result)
        response = self._json_response(media_type, status, body)
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

    async def _get(self, request: Request) -> Response:
        """GET serves the IDE only: operations travel by POST with a JSON body, so a link or
        a form can neither read nor change anything."""
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            if self.graphql_ide:
                return await self.render_graphql_ide(request)
            return PlainTextResponse("Not Found", status_code=404)
        media_type = negotiate(request.headers.get("accept")) or APPLICATION_JSON
        return self._refused(request, media_type, self._method_refusal())

    def _method_refusal(self) -> RequestRefused:
        allowed = "GET, POST" if self.graphql_ide else "POST"
        return RequestRefused(
            405,
            "GraphQL operations are accepted as POST with a JSON body only",
            headers={"Allow": allowed},
        )

    async def _read_json_body(self, request: Request) -> object:
        if not _is_json_utf8(request.headers.get("content-type") or ""):
            # Form and multipart posts are refused: browsers send them cross-site without a
            # CORS preflight (CSRF).
            raise RequestRefused(
                415,
                f"the request body must be {APPLICATION_JSON} (UTF-8)",
                headers={"Accept-Post": APPLICATION_JSON},
            )
        body = await _read_at_most(request, inboxql_app(request).settings.max_body_bytes)
        try:
            return json.loads(body.decode(), parse_constant=_reject_nonfinite)
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; absurd nesting recurses.
        except (ValueError, RecursionError):
            raise RequestRefused(400, "the request body is not valid JSON") from None

    async def _resolve_persisted_query(
        self, request: Request, params: GraphQLParams
    ) -> tuple[str, bool]:
        """The document to run, and whether it is being registered (Apollo's APQ protocol)."""
        persisted = (params.extensions or {}).get("persistedQuery")
        if persisted is None:
            if params.query is None:
                raise RequestRefused(400, "the request has no `query`")
            return params.query, False
        if not isinstance(persisted, dict):
            raise RequestRefused(400, "`extensions.persistedQuery` must be an object")
        version = persisted.get("version")
        if type(version) is not int or version != SUPPORTED_VERSION:
            raise RequestRefused(400, "Unsupported persisted query version")
        sha256_hash = persisted.get("sha256Hash")
        if not isinstance(sha256_hash, str) or not is_sha256_hex(sha256_hash.lower()):
            raise RequestRefused(400, "`sha256Hash` must be a SHA-256 digest in hex")
        sha256_hash = sha256_hash.lower()
        if params.query is None:
            stored = await inboxql_app(request).persisted_queries.get(sha256_hash)
            if stored is None:
                # Apollo answers 200, which APQ clients expect in application/json; in
                # application/graphql-response+json a response without `data` must be 4xx.
                raise RequestRefused(
                    404,
                    PERSISTED_QUERY_NOT_FOUND,
                    code="PERSISTED_QUERY_NOT_FOUND",
                    legacy_status=200,
                )
            return stored, False
        if document_hash(params.query) != sha256_hash:
            raise RequestRefused(400, "provided sha does not match query")
        if len(params.query.encode()) > MAX_DOCUMENT_BYTES:
            raise RequestRefused(
                400, f"a persisted query is at most {MAX_DOCUMENT_BYTES} bytes long"
            )
        return params.query, True

    async def _execute_or_reuse(
        self, query: str, params: GraphQLParams, context: Context
    ) -> ExecutionResult:
        """A kept answer while the caller's inbox version is unchanged (schema/response_cache.py),
        else the operation executed."""
        cache, user_id = self._responses, context.user_id
        if cache is None or user_id is None:
            return await self._execute(query, params, context)
        key = cache.key(user_id, query, params.operation_name, params.variables)
        if key is None:
            return await self._execute(query, params, context)
        started = time.perf_counter()
        try:
            version = (await context.app.inbox.unread_counter(user_id)).version
        except Exception:
            # Executing reads the store too, and answers its failure the usual way.
            return await self._execute(query, params, context)
        kept = cache.get(key, version)
        context.app.metrics.response_cache_looked_up(hit=kept is not None)
        if kept is not None:
            operation = inbox_only_operation(query, params.operation_name) or UNKNOWN
            elapsed = time.perf_counter() - started
            context.app.metrics.operation_finished(operation, "query", "ok", elapsed)
            return kept
        result = await self._execute(query, params, context)
        cache.put(key, version, result)
        return result

    async def _execute(
        self, query: str, params: GraphQLParams, context: Context
    ) -> ExecutionResult:
        if _names_no_operation_of_several(params, query):
            # GraphQL's GetOperation(): with several operations the client must name one.
            # Strawberry would run the first one instead.
            message = "Must provide operation name if query contains multiple operations."
            context.app.metrics.operation_finished(UNKNOWN, UNKNOWN, "BAD_USER_INPUT", None)
            return PreExecutionError(data=None, errors=[_client_error(message)])
        try:
            return await self.schema.execute(
                query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=HTTP_OPERATION_TYPES,
                operation_extensions=params.extensions,
            )
        # Strawberry raises these for the view to turn into HTTP errors; they are GraphQL
        # request errors, answered like a validation error.
        except CannotGetOperationTypeError as error:
            message = error.as_http_error_reason()
        except InvalidOperationTypeError:
            message = "subscriptions are served over WebSocket (graphql-transport-ws) only"
        except MissingQueryError:  # not expected: a request without a query is refused earlier
            message = "the request has no `query`"
        return PreExecutionError(data=None, errors=[_client_error(message)])

    def _status_and_body(
        self, media_type: str, result: ExecutionResult
    ) -> tuple[int, dict[str, object]]:
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
        return (500 if "INTERNAL_SERVER_ERROR" in codes else 400), body

    def _refused(self, request: Request, media_type: str, refused: RequestRefused) -> Response:
        # Counted with the operations, though none ran: a surge of persisted-query misses or
        # malformed posts is worth seeing next to them.
        inboxql_app(request).metrics.operation_finished(UNKNOWN, UNKNOWN, refused.code, None)
        error = GraphQLError(refused.message, extensions={"code": refused.code})
        status = refused.status
        if refused.legacy_status is not None and media_type == APPLICATION_JSON:
            status = refused.legacy_status
        response = self._json_response(media_type, status, {"errors": [error.formatted]})
        response.headers.update(refused.headers)
        return response

    def _json_response(self, media_type: str, status: int, body: object) -> Response:
        # orjson: a fifth of json.dumps's time, UTF-8 as the media type says. (WebSocket frames
        # keep Strawberry's `encode_json`: bytes from it would go out as binary frames.)
        response = Response(
            orjson.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8"
        )
        # The body's media type depends on Accept: caches must key on it.
        response.headers["Vary"] = "Accept"
        return response
