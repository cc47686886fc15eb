"""The GraphQL endpoint: HTTP and `graphql-transport-ws` on one path, with authentication at the
edge and our GraphiQL page.

Over HTTP it follows the GraphQL-over-HTTP specification: the response media type is negotiated
(`application/graphql-response+json` or `application/json`), malformed requests get 4xx with a
GraphQL-shaped `errors` body, and Apollo's automatic persisted queries are understood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast, overload

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from resolvers.context import Context
from schema.metrics import UNKNOWN
from schema.read_limit import admit_operation
from schema.transport.execution import (
    GET_OPERATION_TYPES,
    HTTP_OPERATION_TYPES,
    execute,
    is_mutation,
)
from schema.transport.graphiql import graphiql_page
from schema.transport.http_negotiation import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from schema.transport.http_responses import RequestRefused, refusal_response, result_response
from schema.transport.persisted_queries import Document, register, resolve_document
from schema.transport.request_body import (
    GraphQLParams,
    has_graphql_parameters,
    params_from_query_string,
    read_json_body,
)
from schema.transport.response_cache import InboxResponseCache
from schema.transport.websocket import (
    InboxTransportWSHandler,
    LiveConnections,
    admit,
    origin_allowed,
)
from services.app import App
from services.errors import Unauthenticated
from services.tokens.verifiers import bearer_token


def inboxql_app(request: Request | WebSocket) -> App:
    app: App = request.state.inboxql
    return app


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
            # Strawberry's own HTTP handling is replaced (`run`), GET included: see `_get`.
            # No form posts (CSRF): read_json_body refuses them.
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # The WebSocket deadlines and limits come from settings, per connection: see
            # schema/transport/websocket.py. The origins too: `is_websocket_origin_allowed`.
        )
        self.live_connections = LiveConnections()
        self._responses = response_cache
        # Rendered once here, not per request: file reads would block the event loop.
        self._graphiql_page = graphiql_page(graphiql_headers or {}, graphiql_assets, graphiql_tabs)

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

    def decode_json(self, data: str | bytes) -> object:
        """WebSocket frames (HTTP bodies: request_body.py): strict JSON, so that a lone
        surrogate is refused as an invalid message (4400) instead of failing later."""
        return orjson.loads(data)

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
        if request.method == "GET" and self._wants_ide(request):
            return await self._ide(request)
        media_type = negotiate(request.headers.get("accept"))
        # Starlette's route sends every method here, so that these too get a GraphQL body.
        allowed = request.method in {"GET", "POST"}
        if not allowed or media_type is None:
            refusal = _method_refusal() if not allowed else _not_acceptable()
            return self._refused(request, media_type or APPLICATION_JSON, refusal)
        if request.method == "GET":
            response = await self._get(request, media_type, context)
            # Every answer is one user's own data (or a refusal): see `_get`.
            response.headers["Cache-Control"] = "private, no-store"
            return response
        return await self._post(request, media_type, context)

    async def _ide(self, request: Request) -> Response:
        if self.graphql_ide:
            return await self.render_graphql_ide(request)
        return PlainTextResponse("Not Found", status_code=404)

    async def _post(self, request: Request, media_type: str, context: Context) -> Response:
        app = inboxql_app(request)
        try:
            params = GraphQLParams(await read_json_body(request, app.settings.max_body_bytes))
            document = await resolve_document(app, params)
        except RequestRefused as refused:
            return self._refused(request, media_type, refused)
        return await self._respond(request, media_type, document, params, context)

    async def _get(self, request: Request, media_type: str, context: Context) -> Response:
        """A query over GET (GraphQL-over-HTTP), APQ hashes included, so that clients such as
        Apollo's `useGETForHashedQueries` work. Mutations stay POST-only, as the specification
        requires. GET is no CSRF risk: every operation needs the Authorization header, which
        no cross-site link, image or form can send. The answer is a user's own data: shared
        caches do not store a response to a request with Authorization (RFC 9111 §3.5), and
        `no-store` keeps it out of the browser's disk cache too."""
        try:
            params = params_from_query_string(request.scope.get("query_string", b""))
            document = await resolve_document(inboxql_app(request), params)
            if is_mutation(document.query, params.operation_name):
                raise RequestRefused(
                    405, "mutations are accepted over POST only", headers={"Allow": "POST"}
                )
        except RequestRefused as refused:
            return self._refused(request, media_type, refused)
        return await self._respond(
            request, media_type, document, params, context, GET_OPERATION_TYPES
        )

    async def _respond(  # noqa: PLR0917 -- one request's parts
        self,
        request: Request,
        media_type: str,
        document: Document,
        params: GraphQLParams,
        context: Context,
        operation_types: tuple[OperationType, ...] = HTTP_OPERATION_TYPES,
    ) -> Response:
        sub_response = await self.get_sub_response(request)
        if context is UNSET:
            context = await self.get_context(request, response=sub_response)
        result = await self._answer(document, params, context, operation_types)
        await register(inboxql_app(request), document, result, context)
        return result_response(media_type, result, sub_response)

    async def _answer(
        self,
        document: Document,
        params: GraphQLParams,
        context: Context,
        operation_types: tuple[OperationType, ...],
    ) -> ExecutionResult:
        async def run_operation() -> ExecutionResult:
            return await execute(self.schema, document.query, params, context, operation_types)

        # Counted here, before the response cache: an answer from it is an operation too.
        refused = await admit_operation(context)
        if refused is not None:
            context.app.metrics.operation_finished(UNKNOWN, UNKNOWN, "RATE_LIMITED", None)
            return PreExecutionError(data=None, errors=[refused])

        if self._responses is None or document.registering:
            return await run_operation()
        return await self._responses.execute_or_reuse(
            context, document.query, params, run_operation
        )

    def _wants_ide(self, request: Request) -> bool:
        """A browser opening the endpoint: a GET with no GraphQL parameters that accepts HTML
        (Strawberry's test, except that an APQ hash alone is an operation, not the IDE)."""
        return self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ) and not has_graphql_parameters(request.scope.get("query_string", b""))

    def _refused(self, request: Request, media_type: str, refused: RequestRefused) -> Response:
        # Counted with the operations, though none ran: a surge of persisted-query misses or
        # malformed posts is worth seeing next to them.
        inboxql_app(request).metrics.operation_finished(UNKNOWN, UNKNOWN, refused.code, None)
        return refusal_response(media_type, refused)


def _method_refusal() -> RequestRefused:
    return RequestRefused(
        405,
        "GraphQL operations are accepted as GET (queries only) or POST with a JSON body",
        headers={"Allow": "GET, POST"},
    )


def _not_acceptable() -> RequestRefused:
    return RequestRefused(406, f"responses are {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON} only")
