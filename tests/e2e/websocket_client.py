"""A small graphql-transport-ws client for the WebSocket tests: it answers the server's pings,
so a test waits only on the messages it is about."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"
STEP_TIMEOUT = 20.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(url, subprotocols=[PROTOCOL], **options) as ws:  # type: ignore[list-item]
        yield ws


async def init(ws: ClientConnection, payload: dict[str, Any]) -> dict[str, Any]:
    """Sends connection_init and returns the answer (connection_ack)."""
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    answer = await receive(ws)
    assert answer["type"] == "connection_ack", answer
    return answer


@asynccontextmanager
async def session(url: str, token: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with opened(url, **options) as ws:
        await init(ws, bearer(token))
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, query: str) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def receive(ws: ClientConnection, seconds: float = STEP_TIMEOUT) -> dict[str, Any]:
    """The next message other than a server ping (answered with a pong on the way)."""
    async with asyncio.timeout(seconds):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message.get("type") != "ping":
                return message
            await ws.send(json.dumps({"type": "pong"}))


async def next_data(ws: ClientConnection, op_id: str, seconds: float = STEP_TIMEOUT) -> Any:
    """The data of the next `next` for `op_id`; messages for other operations are skipped."""
    async with asyncio.timeout(seconds):
        while True:
            message = await receive(ws, seconds)
            if message.get("id") == op_id:
                assert message["type"] == "next", message
                assert "errors" not in message["payload"], message
                return message["payload"]["data"]


async def closed_with(ws: ClientConnection, seconds: float = STEP_TIMEOUT) -> int | None:
    """Reads (answering pings) until the server closes; the close code it sent."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await receive(ws, seconds)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
