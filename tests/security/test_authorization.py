"""Every field tried as another user, through the real server: nothing of the victim's leaks and
nothing of theirs changes (their state is read before and after through the same API)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.polling import eventually

STEP_TIMEOUT = 20.0
MESSAGE_FIELDS = "id senderId recipientId body sentAt isRead readAt"
VICTIM_STATE = (
    "{ me { id unreadCount } unreadCount "
    f"messages(first: 100) {{ edges {{ cursor node {{ {MESSAGE_FIELDS} }} }} }} }}"
)


class Caller:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.raw(query, variables)
        assert "errors" not in body, body
        return body["data"]

    async def send(self, to: str, text: str) -> dict[str, Any]:
        data = await self.data(
            f"mutation($i: SendMessageInput!) {{ sendMessage(input: $i) {{ {MESSAGE_FIELDS} }} }}",
            {"i": {"recipientId": to, "body": text}},
        )
        sent: dict[str, Any] = data["sendMessage"]
        return sent

    async def state_when(self, unread: int) -> Any:
        state: Any = None

        # Both the count and the listed entries: the list may lag the counter a little.
        async def shown() -> bool:
            nonlocal state
            state = await self.data(VICTIM_STATE)
            return _shows(state, unread)

        await eventually(shown, lambda: f"unread count {unread}, at {state}", timeout=STEP_TIMEOUT)
        return state


def _shows(state: Any, unread: int) -> bool:
    edges = state["messages"]["edges"]
    listed = sum(not edge["node"]["isRead"] for edge in edges)
    # Three reads that run side by side: a delivery can land between them.
    return bool(state["unreadCount"] == state["me"]["unreadCount"] == unread == listed)


@pytest.fixture
def caller(secure_server: Server, http: httpx.AsyncClient) -> Any:
    return lambda user: Caller(http, secure_server.token(user))


@pytest.fixture
async def victim_with_mail(caller: Any) -> tuple[str, str, list[dict[str, Any]], Any]:
    """alice has two unread messages from bob; returns (alice, bob, sent, alice's state)."""
    alice, bob = new_user("alice"), new_user("bob")
    sent = [await caller(bob).send(alice, f"private {n}") for n in range(2)]
    state = await caller(alice).state_when(2)
    return alice, bob, sent, state


async def test_reading_anothers_message_by_id_gives_null(
    caller: Any, victim_with_mail: tuple[str, str, list[dict[str, Any]], Any]
) -> None:
    alice, _, sent, before = victim_with_mail
    mallory = caller(new_user("mallory"))
    for message in sent:
        data = await mallory.data(
            f"query($id: ID!) {{ message(id: $id) {{ {MESSAGE_FIELDS} }} }}", {"id": message["id"]}
        )
        assert data == {"message": None}
    assert await caller(alice).data(VICTIM_STATE) == before


async def test_own_reads_never_show_anothers_messages(
    caller: Any, victim_with_mail: tuple[str, str, list[dict[str, Any]], Any]
) -> None:
    alice, bob, _, before = victim_with_mail
    mallory = caller(new_user("mallory"))
    mine = await mallory.data(VICTIM_STATE)
    assert mine["unreadCount"] == 0 and mine["messages"]["edges"] == []
    for other in (alice, bob):
        data = await mallory.data(
            "query($w: ID!) { conversation(withUserId: $w) { edges { node { "
            + MESSAGE_FIELDS
            + " } } } }",
            {"w": other},
        )
        assert data["conversation"]["edges"] == []
    assert await caller(alice).data(VICTIM_STATE) == before


async def test_anothers_cursor_pages_only_the_callers_own_inbox(
    caller: Any, victim_with_mail: tuple[str, str, list[dict[str, Any]], Any]
) -> None:
    alice, _, _, before = victim_with_mail
    mallory = caller(new_user("mallory"))
    cursor = before["messages"]["edges"][0]["cursor"]
    body = await mallory.raw(
        "query($a: String) { messages(first: 10, after: $a) { edges { node { "
        + MESSAGE_FIELDS
        + " } } } }",
        {"a": cursor},
    )
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    else:
        assert body["data"]["messages"]["edges"] == []
    assert await caller(alice).data(VICTIM_STATE) == before


async def test_mark_read_of_anothers_ids_changes_nothing(
    caller: Any, victim_with_mail: tuple[str, str, list[dict[str, Any]], Any]
) -> None:
    alice, bob, sent, before = victim_with_mail
    ids = [message["id"] for message in sent]
    for attacker in (caller(new_user("mallory")), caller(bob)):  # a stranger, and the sender
        data = await attacker.data(
            "mutation($ids: [ID!]!) { markRead(ids: $ids) { messages { "
            + MESSAGE_FIELDS
            + " } unreadCount } }",
            {"ids": ids},
        )
        assert data == {"markRead": {"messages": [], "unreadCount": 0}}
        assert (
            await attacker.data("mutation { markAllRead { messages { id } unreadCount } }")
        ) == {"markAllRead": {"messages": [], "unreadCount": 0}}
    after = await caller(alice).data(VICTIM_STATE)
    assert after == before
    assert [edge["node"]["isRead"] for edge in after["messages"]["edges"]] == [False, False]


async def test_a_sender_cannot_be_spoofed(caller: Any, secure_server: Server) -> None:
    alice, mallory = new_user("alice"), new_user("mallory")
    body = await caller(mallory).raw(
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
        {"i": {"recipientId": alice, "body": "from your boss", "senderId": "boss"}},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    sent = await caller(mallory).send(alice, "hello")
    assert sent["senderId"] == mallory
    state = await caller(alice).state_when(1)
    assert [edge["node"]["senderId"] for edge in state["messages"]["edges"]] == [mallory]


async def test_a_token_for_the_victim_signed_with_another_key_is_refused(
    http: httpx.AsyncClient,
    caller: Any,
    victim_with_mail: tuple[str, str, list[dict[str, Any]], Any],
) -> None:
    alice, _, _, before = victim_with_mail
    forged = jwt.encode(
        {"sub": alice}, "not-the-server-secret-but-long-enough-32b", algorithm="HS256"
    )
    intruder = Caller(http, forged)
    for query in (VICTIM_STATE, "mutation { markAllRead { unreadCount } }"):
        body = await intruder.raw(query)
        assert body["data"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}
    assert await caller(alice).data(VICTIM_STATE) == before


@asynccontextmanager
async def subscribed(server: Server, user: str, query: str) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"Authorization": f"Bearer {server.token(user)}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
        assert ack["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield ws


async def next_data(ws: ClientConnection) -> Any:
    message = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
    assert message["type"] == "next", message
    return message["payload"]["data"]


async def test_subscriptions_only_ever_carry_the_callers_own_events(
    secure_server: Server, caller: Any
) -> None:
    alice, bob, mallory = new_user("alice"), new_user("bob"), new_user("mallory")
    async with (
        subscribed(secure_server, mallory, "subscription { unreadCount }") as count_ws,
        subscribed(
            secure_server, mallory, f"subscription {{ messageReceived {{ {MESSAGE_FIELDS} }} }}"
        ) as feed_ws,
        subscribed(secure_server, alice, "subscription { unreadCount }") as alice_ws,
    ):
        assert await next_data(count_ws) == {"unreadCount": 0}
        assert await next_data(alice_ws) == {"unreadCount": 0}
        await caller(bob).send(alice, "for alice only")
        assert await next_data(alice_ws) == {"unreadCount": 1}
        # Alice's event has been published; a marker for mallory comes after it. Had alice's
        # event leaked, it would arrive first on mallory's subscriptions.
        await caller(bob).send(mallory, "marker")
        assert await next_data(count_ws) == {"unreadCount": 1}
        received = (await next_data(feed_ws))["messageReceived"]
        assert (received["body"], received["recipientId"]) == ("marker", mallory)
