"""The GraphQL endpoint: HTTP and `graphql-transport-ws` on one path, with authentication at the
edge and our GraphiQL page."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from schema.context import Context
from services.auth import bearer_token
from services.bootstrap import App
from services.errors import Unauthenticated
from services.npm_assets import GRAPHIQL

GRAPHIQL_TEMPLATE = Path(__file__).with_name("graphiql.html")


def inboxql_app(request: Request | WebSocket) -> App:
    app: App = request.state.inboxql
    return app


class InboxGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        graphiql_headers: dict[str, str] | None,
        graphiql_assets: Mapping[str, str] | None = None,
    ) -> None:
        """`graphiql_headers` None turns the IDE off; otherwise they prefill its headers.
        `graphiql_assets` maps each file of the GRAPHIQL bundle to the URL the page loads
        it from (None: the CDN)."""
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_headers is not None else None,
            # Reads only over POST with a JSON body: no query via GET, no form posts (CSRF).
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        # Read once here, not per request: file reads would block the event loop.
        page = GRAPHIQL_TEMPLATE.read_text().replace(
            "__DEFAULT_HEADERS__", json.dumps(json.dumps(graphiql_headers or {}, indent=2))
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
                context.user_id = context.app.tokens.verify(token)
            except Unauthenticated as error:
                context.auth_error = error.message
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        try:
            token = bearer_token(header if isinstance(header, str) else None)
            context.user_id = context.app.tokens.verify(token)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        unset: UnsetType = UNSET
        return unset

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._graphiql_page)
