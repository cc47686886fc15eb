"""The GraphQL endpoint: HTTP and `graphql-transport-ws` on one path, with authentication at the
edge and our GraphiQL page.

Over HTTP it follows the GraphQL-over-HTTP specification: the response media type is negotiated
(`application/graphql-response+json` or `application/json`), malformed requests get 4xx with a
GraphQL-shaped `errors` body, and Apollo's automatic persisted queries are understood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast, overload

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from resolvers.context import Context
from schema.metrics import UNKNOWN
from schema.read_limit import admit_operation
from schema.transport.execution import execute
from schema.transport.graphiql import graphiql_page
from schema.transport.http_negotiation import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from schema.transport.http_responses import RequestRefused, refusal_response, result_response
from schema.transport.persisted_queries import Document, register, resolve_document
from schema.transport.request_body import GraphQLParams, read_json_body
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
            # Reads only over POST with a JSON body: no query via GET, no form posts (CSRF).
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
        app = inboxql_app(request)
        try:
            params = GraphQLParams(await read_json_body(request, app.settings.max_body_bytes))
            document = await resolve_document(app, params)
        except RequestRefused as refused:
            return self._refused(request, media_type, refused)

        sub_response = await self.get_sub_response(request)
        if context is UNSET:
            context = await self.get_context(request, response=sub_response)
        result = await self._answer(document, params, context)
        await register(app, document, result, context)
        return result_response(media_type, result, sub_response)

    async def _answer(
        self, document: Document, params: GraphQLParams, context: Context
    ) -> ExecutionResult:
        async def run_operation() -> ExecutionResult:
            return await execute(self.schema, document.query, params, context)

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

    def _refused(self, request: Request, media_type: str, refused: RequestRefused) -> Response:
        # Counted with the operations, though none ran: a surge of persisted-query misses or
        # malformed posts is worth seeing next to them.
        inboxql_app(request).metrics.operation_finished(UNKNOWN, UNKNOWN, refused.code, None)
        return refusal_response(media_type, refused)
