"""Relay over plain HTTP against a server process on the local stack: `node(id)` for a message
and a conversation, its authorization and refusals, and PageInfo's `hasPreviousPage` and
`startCursor` on a first and a later page of each connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import new_user
from tests.e2e.conftest import DELIVERY_DEADLINE_SECONDS, GraphQLClient
from tests.polling import eventually

Client = Callable[[str], GraphQLClient]

NODE = """query($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Message { senderId recipientId body isRead }
    ... on Conversation { withUserId unreadCount lastMessage { id body isRead } }
  }
}"""
PAGE_INFO = "pageInfo { hasNextPage endCursor hasPreviousPage startCursor }"
INBOX = f"""query($after: String) {{
  messages(first: 1, after: $after) {{ edges {{ cursor node {{ id }} }} {PAGE_INFO} }}
}}"""
CONVERSATION = f"""query($with: ID!, $after: String) {{
  conversation(withUserId: $with, first: 1, after: $after) {{
    edges {{ cursor node {{ id }} }} {PAGE_INFO}
  }}
}}"""
CONVERSATIONS = f"""query($after: String) {{
  conversations(first: 1, after: $after) {{ edges {{ cursor node {{ id }} }} {PAGE_INFO} }}
}}"""


async def node(client: GraphQLClient, node_id: str) -> Any:
    return (await client.data(NODE, {"id": node_id}))["node"]


async def listed_conversations(client: GraphQLClient, count: int) -> list[dict[str, Any]]:
    """The caller's conversations once the `activity` index shows `count` of them."""
    query = "{ conversations { edges { node { id withUserId } } } }"
    edges: list[dict[str, Any]] = []

    async def check() -> bool:
        nonlocal edges
        edges = (await client.data(query))["conversations"]["edges"]
        return len(edges) == count

    await eventually(
        check, lambda: f"{count} conversations, got {edges}", timeout=DELIVERY_DEADLINE_SECONDS
    )
    return [edge["node"] for edge in edges]


async def test_node_fetches_a_message_and_a_conversation_again(as_user: Client) -> None:
    alice_id, bob_id = new_user("alice"), new_user("bob")
    alice, bob = as_user(alice_id), as_user(bob_id)
    sent = await bob.send(alice_id, "refetch me")
    await alice.wait_for_count(1)

    for viewer in (alice, bob):
        found = await node(viewer, sent["id"])
        assert found == {
            "__typename": "Message",
            "id": sent["id"],
            "senderId": bob_id,
            "recipientId": alice_id,
            "body": "refetch me",
            "isRead": False,
        }

    [listed] = await listed_conversations(alice, 1)
    found = await node(alice, listed["id"])
    assert found == {
        "__typename": "Conversation",
        "id": listed["id"],
        "withUserId": bob_id,
        "unreadCount": 1,
        "lastMessage": {"id": sent["id"], "body": "refetch me", "isRead": False},
    }
    # The same id for the other participant, seen from their side.
    [bobs] = await listed_conversations(bob, 1)
    assert bobs["id"] == listed["id"]
    from_bob = await node(bob, listed["id"])
    assert from_bob["withUserId"] == alice_id and from_bob["unreadCount"] == 0


async def test_someone_elses_id_and_an_unknown_id_read_the_same(as_user: Client) -> None:
    alice_id, bob_id, carol_id = new_user("alice"), new_user("bob"), new_user("carol")
    alice, carol = as_user(alice_id), as_user(carol_id)
    sent = await as_user(bob_id).send(alice_id, "not for carol")
    await alice.wait_for_count(1)
    [conversation] = await listed_conversations(alice, 1)
    unknown_message = sent["id"][:-1] + ("0" if sent["id"][-1] != "0" else "1")
    unknown_conversation = conversation["id"][:-1] + ("0" if conversation["id"][-1] != "0" else "1")

    answers = [
        await carol.raw(NODE, {"id": node_id})
        for node_id in (sent["id"], unknown_message, conversation["id"], unknown_conversation)
    ]
    assert answers == [{"data": {"node": None}}] * 4
    # The owner still sees both.
    assert (await node(alice, sent["id"]))["id"] == sent["id"]
    assert (await node(alice, conversation["id"]))["id"] == conversation["id"]


async def test_a_malformed_id_is_bad_user_input(as_user: Client) -> None:
    alice = as_user(new_user("alice"))
    for malformed in ("garbage", "", "01HZZZZZZZZZZZZZZZZZZZZZZZZ"):
        body = await alice.raw(NODE, {"id": malformed})
        assert body["data"] == {"node": None}, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "not a valid node id" in error["message"]
        assert error["path"] == ["node"]


async def test_node_needs_a_token(http: httpx.AsyncClient) -> None:
    body = await GraphQLClient(http, None).raw(NODE, {"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


def assert_pages(first: dict[str, Any], later: dict[str, Any]) -> None:
    """A first page of one edge with more after it, then the page after its end cursor."""
    info = first["pageInfo"]
    assert info["hasPreviousPage"] is False and info["hasNextPage"] is True, info
    assert info["startCursor"] == info["endCursor"] == first["edges"][0]["cursor"], info
    info = later["pageInfo"]
    assert info["hasPreviousPage"] is True, info
    assert info["startCursor"] == later["edges"][0]["cursor"] != first["edges"][0]["cursor"]
    assert info["endCursor"] == later["edges"][-1]["cursor"]


async def test_page_info_on_a_first_and_a_later_page(as_user: Client) -> None:
    alice_id, bob_id, carol_id = new_user("alice"), new_user("bob"), new_user("carol")
    alice = as_user(alice_id)
    await as_user(bob_id).send(alice_id, "one")
    await as_user(bob_id).send(alice_id, "two")
    await as_user(carol_id).send(alice_id, "three")
    await alice.wait_for_count(3)
    await listed_conversations(alice, 2)

    first = (await alice.data(INBOX))["messages"]
    later = (await alice.data(INBOX, {"after": first["pageInfo"]["endCursor"]}))["messages"]
    assert_pages(first, later)

    variables: dict[str, Any] = {"with": bob_id}

    async def both_sent() -> bool:
        page = (await alice.data(CONVERSATION, variables))["conversation"]
        return bool(page["pageInfo"]["hasNextPage"])

    # The conversation view reads an index, which lags a delivery by a moment.
    await eventually(both_sent, lambda: "both messages", timeout=DELIVERY_DEADLINE_SECONDS)
    first = (await alice.data(CONVERSATION, variables))["conversation"]
    variables["after"] = first["pageInfo"]["endCursor"]
    later = (await alice.data(CONVERSATION, variables))["conversation"]
    assert_pages(first, later)
    assert later["pageInfo"]["hasNextPage"] is False

    first = (await alice.data(CONVERSATIONS))["conversations"]
    after = {"after": first["pageInfo"]["endCursor"]}
    later = (await alice.data(CONVERSATIONS, after))["conversations"]
    assert_pages(first, later)

    # An empty page: no edges, no cursors, and still after one.
    empty = (await alice.data(CONVERSATIONS, {"after": later["pageInfo"]["endCursor"]}))[
        "conversations"
    ]
    assert empty["edges"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": None,
        "hasPreviousPage": True,
        "startCursor": None,
    }
