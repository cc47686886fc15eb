"""An accepted socket keeps none of wsproto's handshake state, and works as before: served by
uvicorn with the product's config (web/uvicorn_config.py) over a real connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import h11
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from wsproto.events import Request

from bench.processes import free_port
from services.settings import Settings
from tests.polling import eventually
from web.uvicorn_config import uvicorn_config
from web.websocket_protocol import LeanWSProtocol


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text.upper())


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[uvicorn.Server]:
    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    server = uvicorn.Server(uvicorn_config(app, Settings(), "127.0.0.1", free_port()))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), "the server to start")
        assert server.started
        yield server
    finally:
        server.should_exit = True
        await task


def sockets(server: uvicorn.Server) -> list[LeanWSProtocol]:
    return [c for c in server.server_state.connections if isinstance(c, LeanWSProtocol)]


async def test_an_accepted_socket_forgets_the_handshake_and_still_talks() -> None:
    async with serving() as server:
        port = server.config.port
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
            await client.send("hello")
            assert await asyncio.wait_for(client.recv(), 5) == "HELLO"
            [socket] = sockets(server)
            # By what they are, not by wsproto's names for them.
            kept = vars(socket.conn.handshake).values()
            assert not [v for v in kept if isinstance(v, h11.Connection | Request)]
            # Frames both ways, a ping answered by wsproto, and a clean close, all after.
            await asyncio.wait_for(await client.ping(), 5)
            await client.send("again")
            assert await asyncio.wait_for(client.recv(), 5) == "AGAIN"
        assert client.close_code == 1000
