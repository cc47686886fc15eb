"""Subscriptions over `graphql-transport-ws` against the running server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]
PROTOCOL = "graphql-transport-ws"
STEP_TIMEOUT = 20.0


@asynccontextmanager
async def connected(server: Server, init: dict[str, Any] | None) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(server.ws_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        if init is not None:
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
            assert ack["type"] == "connection_ack"
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, query: str) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def next_payload(ws: ClientConnection, op_id: str) -> Any:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
        if message.get("id") == op_id:
            assert message["type"] == "next", message
            return message["payload"]


def auth(server: Server, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(user)}"}


async def test_unread_count_goes_up_to_25_and_back_to_zero(server: Server, as_user: Client) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    async with connected(server, auth(server, alice)) as ws:
        await subscribe(ws, "badge", "subscription { unreadCount }")
        assert await next_payload(ws, "badge") == {"data": {"unreadCount": 0}}

        sent = [await as_user(bob).send(alice, f"n{n}") for n in range(25)]
        seen = [0]
        while seen[-1] != 25:
            seen.append((await next_payload(ws, "badge"))["data"]["unreadCount"])
        assert seen == sorted(seen), f"a stale count was pushed: {seen}"

        mark = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
        await as_user(alice).data(mark, {"ids": [m["id"] for m in sent[:10]]})
        assert (await next_payload(ws, "badge"))["data"]["unreadCount"] == 15
        await as_user(alice).data("mutation { markAllRead { unreadCount } }")
        assert (await next_payload(ws, "badge"))["data"]["unreadCount"] == 0


async def test_message_received_pushes_each_new_message(server: Server, as_user: Client) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    async with connected(server, auth(server, alice)) as ws:
        await subscribe(ws, "inbox", "subscription { messageReceived { id senderId body } }")
        # The subscription is live once a count subscription on the same socket has answered.
        await subscribe(ws, "badge", "subscription { unreadCount }")
        await next_payload(ws, "badge")
        sent = [await as_user(bob).send(alice, f"live {n}") for n in range(3)]
        received = [(await next_payload(ws, "inbox"))["data"]["messageReceived"] for _ in sent]
        assert sorted(received, key=lambda m: m["id"]) == [
            {"id": m["id"], "senderId": bob, "body": m["body"]} for m in sent
        ]


async def test_subscribers_only_hear_about_their_own_inbox(server: Server, as_user: Client) -> None:
    alice, eve, bob = new_user("alice"), new_user("eve"), new_user("bob")
    async with (
        connected(server, auth(server, eve)) as eve_ws,
        connected(server, auth(server, alice)) as alice_ws,
    ):
        await subscribe(eve_ws, "e", "subscription { messageReceived { id } }")
        await subscribe(eve_ws, "eb", "subscription { unreadCount }")
        await next_payload(eve_ws, "eb")
        await subscribe(alice_ws, "a", "subscription { unreadCount }")
        await next_payload(alice_ws, "a")
        await as_user(bob).send(alice, "for alice only")
        assert (await next_payload(alice_ws, "a"))["data"]["unreadCount"] == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(eve_ws.recv(), 1.0)


@pytest.mark.parametrize(
    "init",
    [
        {},
        {"Authorization": "Bearer forged.token.value"},
        {"Authorization": "Basic abc"},
    ],
    ids=["no-token", "forged", "wrong-scheme"],
)
async def test_bad_connection_init_is_refused(server: Server, init: dict[str, str]) -> None:
    async with websockets.connect(server.ws_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribe_before_connection_init_is_refused(server: Server) -> None:
    async with websockets.connect(server.ws_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await subscribe(ws, "x", "subscription { unreadCount }")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
