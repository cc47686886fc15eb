"""A request's body must arrive within a bounded time of its headers, or the request is cut off.

uvicorn has no read deadline: a client that sends a Content-Length and then one byte a minute
holds its connection, and the task reading the body, for as long as it likes. Here the app's
`receive` is given the deadline, so the body is read wherever the app reads it (the GraphQL
view, the demo's token endpoint) without each of them knowing about it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimedOut(Exception):
    """Raised from `receive` into the app, so that whatever it was doing with the body stops;
    caught again by the middleware, which answers."""


class BodyDeadlineMiddleware:
    """Answers 408 with a GraphQL-shaped `REQUEST_TIMEOUT` error, and closes the connection,
    when an HTTP request's body is not all in `seconds` after the app was called (that is,
    after its headers arrived)."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.refusal = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"the request body did not arrive within {seconds:g} seconds",
                        "extensions": {"code": "REQUEST_TIMEOUT"},
                    }
                ]
            }
        )

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket gets the app's own awaitable, so that no frame of
        # this middleware stays suspended for the socket's whole life (10,000 idle ones).
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._within_deadline(scope, receive, send)

    async def _within_deadline(self, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_read = False
        response_started = False

        async def receive_in_time() -> Message:
            nonlocal body_read
            if body_read:
                # Later calls wait for the client to go away, which may take as long as the
                # response does: no deadline there.
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut from None
            body_read = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_watched(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_watched)
        except BodyTimedOut:
            if response_started:
                # Half a response already went out: uvicorn closes the connection when the app
                # returns without finishing it, which is all that is left to do.
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self.refusal)).encode()),
                        # The rest of the body may still be on its way: the connection can't be
                        # reused, so uvicorn closes it once this is sent.
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": self.refusal})
