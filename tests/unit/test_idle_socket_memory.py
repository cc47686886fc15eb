"""What an accepted WebSocket stops holding: its handshake's headers, and the frames of the
middleware it merely passed through (bench target 4: RSS per idle subscription)."""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from schema.transport.websocket import forget_handshake_headers
from web.allowed_hosts import AllowedHostsMiddleware
from web.body_deadline import BodyDeadlineMiddleware


def websocket_scope() -> Scope:
    return {
        "type": "websocket",
        "path": "/graphql",
        "headers": [(b"host", b"localhost"), (b"authorization", b"Bearer t")],
    }


async def nothing_received() -> Message:
    raise AssertionError("not called")


async def nothing_sent(message: Message) -> None:
    raise AssertionError("not called")


def test_the_handshake_headers_are_emptied_where_every_holder_sees_them() -> None:
    socket = WebSocket(websocket_scope(), nothing_received, nothing_sent)
    cached = socket.headers  # Starlette keeps this view of the same list
    assert cached["host"] == "localhost"
    forget_handshake_headers(socket)
    assert socket.scope["headers"] == []
    assert list(cached.keys()) == []
    forget_handshake_headers(None)  # a handler built without a request (unit tests)


class InnerApp:
    """Returns the same awaitable object each call, so that a test can tell whether a
    middleware handed it on or wrapped it in a coroutine of its own."""

    def __init__(self) -> None:
        self.awaitable: Coroutine[Any, Any, None] = self._run()

    async def _run(self) -> None:
        return None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return self.awaitable


@pytest.mark.parametrize(
    "wrap",
    [
        lambda app: AllowedHostsMiddleware(app, allowed=("localhost",)),
        lambda app: AllowedHostsMiddleware(app, allowed=("*",)),
        lambda app: BodyDeadlineMiddleware(app, seconds=5.0),
    ],
)
async def test_a_websocket_passes_through_without_a_frame_of_the_middleware(wrap: Any) -> None:
    inner = InnerApp()
    handed_on = wrap(inner)(websocket_scope(), nothing_received, nothing_sent)
    assert handed_on is inner.awaitable
    await handed_on


async def test_a_refused_host_still_gets_its_websocket_closed() -> None:
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    inner = InnerApp()
    scope = {**websocket_scope(), "headers": [(b"host", b"attacker.example")]}
    await AllowedHostsMiddleware(inner, allowed=("localhost",))(scope, nothing_received, record)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    inner.awaitable.close()
