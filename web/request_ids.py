"""The request id of every HTTP request and WebSocket connection, bound for the logs and echoed
to the client."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.observability.request_ids import (
    REQUEST_ID_HEADER,
    accepted_request_id,
    request_id_bound,
)


class RequestIdMiddleware:
    """Binds a request id for each HTTP request and WebSocket connection (the client's
    X-Request-Id when it is a sane token, else a new one) and echoes it in the response, or in
    the WebSocket handshake's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with request_id_bound(request_id):
            await self.app(scope, receive, send_with_request_id)
