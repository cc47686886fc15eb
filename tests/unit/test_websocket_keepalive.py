"""The graphql-transport-ws keep-alive (schema/transport/websocket.py) on timers, against a
socket stand-in: pings, pongs, the pong deadline, and what an accepted socket lets go of."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    PongMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from resolvers.context import Context
from schema.transport.websocket import PONG_TIMEOUT, InboxTransportWSHandler, LiveConnections
from services.app import App
from services.domain import UserId
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier

WAIT_SECONDS = 10.0  # generous: the CPU is shared


class Socket:
    """What the handler sends and how it closes, each observable as it happens."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    async def send_json(self, message: dict[str, object]) -> None:
        self.sent.put_nowait(message)

    async def close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    async def iter_json(self) -> AsyncIterator[object]:
        await asyncio.Future()  # never receives: the tests call the handler directly
        yield None


class View:
    def __init__(self) -> None:
        self.live_connections = LiveConnections()

    async def on_ws_connect(self, context: Context) -> UnsetType:
        context.user_id = UserId("alice")
        unset: UnsetType = UNSET
        return unset


class AppStandIn:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def handler(socket: Socket, *, ping: float, pong_timeout: float) -> InboxTransportWSHandler:
    settings = Settings(ws_ping_interval_seconds=ping, ws_pong_timeout_seconds=pong_timeout)
    context = Context(app=cast(App, AppStandIn(settings)), request=cast(Any, None), response=None)
    return InboxTransportWSHandler(
        cast(Any, View()),
        cast(Any, socket),
        context,
        None,
        cast(Any, None),
        cast(Any, None),
    )


# A token without `exp`: no expiry timer, the keep-alive alone.
TOKEN = HmacTokenVerifier("a-secret-long-enough-for-hs256-tokens").issue(
    UserId("alice"), ttl_seconds=None
)
INIT: ConnectionInitMessage = {
    "type": "connection_init",
    "payload": {"Authorization": f"Bearer {TOKEN}"},
}
PONG: PongMessage = {"type": "pong"}


async def accepted(socket: Socket, ws: InboxTransportWSHandler) -> None:
    ws.on_request_accepted()
    await ws.handle_connection_init(INIT)
    assert await asyncio.wait_for(socket.sent.get(), WAIT_SECONDS) == {"type": "connection_ack"}


async def test_a_client_that_answers_gets_ping_after_ping_and_stays_open() -> None:
    socket = Socket()
    ws = handler(socket, ping=0.05, pong_timeout=WAIT_SECONDS)
    await accepted(socket, ws)
    try:
        for _ in range(3):
            assert await asyncio.wait_for(socket.sent.get(), WAIT_SECONDS) == {"type": "ping"}
            await ws.handle_pong(PONG)
        assert not socket.closed.done()
    finally:
        await ws.shutdown()


async def test_a_client_that_does_not_answer_is_closed_with_1011() -> None:
    socket = Socket()
    ws = handler(socket, ping=0.05, pong_timeout=0.2)
    await accepted(socket, ws)
    try:
        assert await asyncio.wait_for(socket.sent.get(), WAIT_SECONDS) == {"type": "ping"}
        code, _ = await asyncio.wait_for(socket.closed, WAIT_SECONDS)
        assert code == PONG_TIMEOUT
        assert socket.sent.empty()  # no ping after the missed pong
    finally:
        await ws.shutdown()


async def test_a_pong_nobody_asked_for_neither_pings_nor_closes() -> None:
    socket = Socket()
    ws = handler(socket, ping=WAIT_SECONDS * 10, pong_timeout=0.05)
    await accepted(socket, ws)
    try:
        await ws.handle_pong(PONG)
        await ws.handle_pong(PONG)
        assert socket.sent.empty() and not socket.closed.done()
    finally:
        await ws.shutdown()


async def test_an_accepted_socket_keeps_neither_the_init_payload_nor_the_init_task() -> None:
    socket = Socket()
    ws = handler(socket, ping=WAIT_SECONDS * 10, pong_timeout=WAIT_SECONDS)
    await accepted(socket, ws)
    try:
        assert ws.context.connection_params is None
        assert ws.connection_init_timeout_task is None
        assert ws.context.user_id == UserId("alice")
    finally:
        await ws.shutdown()
    assert ws.context.user_id is None  # the connection slot was given back
