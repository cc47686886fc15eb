"""A `subscribe` over graphql-transport-ws is refused as HTTP refuses the same request: an
`error` message with BAD_USER_INPUT, and the socket stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.websocket_client import next_data, receive, session

REFUSED = {
    # HTTP: "Must provide operation name if query contains multiple operations."
    "two-anonymous-operations": (
        {"query": "{ me { id } } { unreadCount }"},
        "Must provide operation name",
    ),
    "query-not-a-string": ({"query": 12}, "`query` must be a string"),
    "no-query": ({"variables": {}}, "no `query`"),
    "variables-not-an-object": ({"query": "{ unreadCount }", "variables": [1]}, "`variables`"),
    "operation-name-not-a-string": (
        {"query": "{ unreadCount }", "operationName": 7},
        "`operationName`",
    ),
}


async def send_subscribe(ws: ClientConnection, op_id: str, payload: Any) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_request_http_refuses_gets_an_error_and_the_socket_stays_open(
    server: Server, case: str
) -> None:
    payload, fragment = REFUSED[case]
    async with session(server.ws_url, server.token(new_user("alice"))) as ws:
        await send_subscribe(ws, "bad", payload)
        answer = await receive(ws)
        assert answer["type"] == "error", answer
        assert answer["id"] == "bad"
        assert fragment in answer["payload"][0]["message"], answer
        assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # The id is free again and the connection still serves operations.
        await send_subscribe(ws, "bad", {"query": "{ unreadCount }"})
        assert await next_data(ws, "bad") == {"unreadCount": 0}


async def test_several_operations_run_the_one_named(server: Server) -> None:
    document = "query A { unreadCount } query B { me { id } }"
    user = new_user("alice")
    async with session(server.ws_url, server.token(user)) as ws:
        await send_subscribe(ws, "1", {"query": document, "operationName": "B"})
        assert await next_data(ws, "1") == {"me": {"id": user}}
