"""Every operation in examples/operations runs against a real server and succeeds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]
OPERATIONS = Path(__file__).resolve().parents[2] / "examples" / "operations"


def variables_for(name: str, peer: str, message_id: str) -> dict[str, Any]:
    known: dict[str, dict[str, Any]] = {
        "Inbox": {"first": 5},
        "Message": {"id": message_id},
        "Node": {"id": message_id},
        "Conversation": {"withUserId": peer},
        "SendMessage": {
            "recipientId": peer,
            "body": "from the examples",
            "clientMessageId": "ex-1",
        },
        "MarkRead": {"ids": [message_id]},
        "MarkUnread": {"ids": [message_id]},
        "MarkConversationRead": {"withUserId": peer},
        "DeleteMessage": {"id": message_id},
        "SetTyping": {"withUserId": peer},
        "Changes": {"since": 0},
    }
    return known.get(name, {})


async def first_push(
    server: Server, user: str, document: str, variables: dict[str, Any] | None = None
) -> Any:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"Authorization": f"Bearer {server.token(user)}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": document, "variables": variables or {}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert message["type"] == "next", message
        return message["payload"]


async def pushed_while(push: Awaitable[Any], trigger: Callable[[], Awaitable[Any]]) -> Any:
    """`push`'s result, triggering again every half second until it comes (a subscription
    gives no sign of when it is live), within a deadline."""
    pending = asyncio.ensure_future(push)
    deadline = asyncio.get_running_loop().time() + 20
    while not pending.done():
        await trigger()
        await asyncio.wait({pending}, timeout=0.5)
        assert asyncio.get_running_loop().time() < deadline, "nothing was pushed"
    return pending.result()


EXAMPLES = {path.stem: path.read_text() for path in sorted(OPERATIONS.glob("*.graphql"))}


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_operation_runs(name: str, server: Server, as_user: Client) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = await as_user(bob).send(alice, "hello from bob")
    await as_user(alice).wait_for_count(1)
    document = EXAMPLES[name]
    if name == "OnUnreadCount":
        assert await first_push(server, alice, document) == {"data": {"unreadCount": 1}}
    elif name == "OnVersionedUnreadCount":
        pushed = (await first_push(server, alice, document))["data"]["versionedUnreadCount"]
        current = await as_user(alice).data(EXAMPLES["VersionedUnreadCount"])
        assert pushed == current["versionedUnreadCount"] and pushed["count"] == 1, pushed
    elif name == "OnInboxEvents":
        # From version 0: the replay starts with the delivery above, its message included.
        pushed = await first_push(server, alice, document, {"sinceVersion": 0})
        event = pushed["data"]["inboxEvents"]
        assert event["version"] == 1 and event["__typename"] == "MessageReceivedEvent", event
        assert event["message"]["id"] == sent["id"], event
    elif name == "Changes":
        data = await as_user(alice).data(document, variables_for(name, bob, sent["id"]))
        page = data["changes"]
        assert (page["version"], page["hasMore"]) == (1, False), page
        assert page["events"][0]["message"]["body"] == "hello from bob", page
    elif name == "OnMessageReceived":
        # The subscription sends nothing until a message arrives, and there is no sign of
        # when it is live: keep sending until one is pushed, within a deadline.
        pushed = asyncio.ensure_future(first_push(server, alice, document))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not pushed.done():
            await as_user(bob).send(alice, "trigger")
            await asyncio.wait({pushed}, timeout=0.5)
            assert loop.time() < deadline, "messageReceived pushed nothing"
        assert pushed.result()["data"]["messageReceived"]["senderId"] == bob
    elif name == "OnTyping":
        # The same: bob types until one push gets through (the gate lets one in per 3 s).
        pushed = await pushed_while(
            first_push(server, alice, document),
            lambda: as_user(bob).data(EXAMPLES["SetTyping"], {"withUserId": alice}),
        )
        assert pushed["data"]["typing"]["fromUserId"] == bob
    elif name == "OnReadReceipts":
        # Bob is told when alice reads his messages: she reads each new one until he is.
        async def read_one_more() -> None:
            await as_user(bob).send(alice, "read me")
            await as_user(alice).data(EXAMPLES["MarkAllRead"])

        pushed = await pushed_while(first_push(server, bob, document), read_one_more)
        assert pushed["data"]["readReceipts"]["readerId"] == alice
    elif name == "DeleteMessage":
        # Only its sender can: alice, its recipient, cannot; bob can, once.
        variables = variables_for(name, bob, sent["id"])
        assert await as_user(alice).data(document, variables) == {
            "deleteMessage": {"deleted": False}
        }
        assert await as_user(bob).data(document, variables) == {"deleteMessage": {"deleted": True}}
        assert await as_user(bob).data(document, variables) == {"deleteMessage": {"deleted": False}}
        gone = await as_user(alice).data(EXAMPLES["Message"], {"id": sent["id"]})
        assert gone == {"message": None}, gone
    else:
        data = await as_user(alice).data(document, variables_for(name, bob, sent["id"]))
        assert data and all(value is not None for value in data.values()), data
