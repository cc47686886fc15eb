"""The GraphQL contract over real HTTP against a running server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient

Client = Callable[[str], GraphQLClient]

PAGE = """query($first: Int, $after: String, $unreadOnly: Boolean) {
  messages(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { cursor node { id senderId recipientId body sentAt isRead readAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def all_pages(client: GraphQLClient, first: int, **args: Any) -> list[list[Any]]:
    pages, after = [], None
    while True:
        data = await client.data(PAGE, {"first": first, "after": after, **args})
        connection = data["messages"]
        pages.append([edge["node"] for edge in connection["edges"]])
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


async def test_send_then_page_through_inbox_newest_first(as_user: Client) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    as_alice, as_bob = as_user(alice), as_user(bob)
    sent = [await as_bob.send(alice, f"message {n}") for n in range(25)]
    assert sent[0]["senderId"] == bob and sent[0]["recipientId"] == alice
    assert sent[0]["isRead"] is False and sent[0]["readAt"] is None
    await as_alice.wait_for_count(25)

    pages = await all_pages(as_alice, 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [node["id"] for page in pages for node in page]
    assert ids == [m["id"] for m in reversed(sent)]
    assert pages[0][0]["body"] == "message 24"
    assert (await as_alice.data("{ me { id unreadCount } }"))["me"] == {
        "id": alice,
        "unreadCount": 25,
    }


async def test_message_by_id_is_private_and_unknown_is_indistinguishable(
    as_user: Client,
) -> None:
    alice, bob, eve = new_user("alice"), new_user("bob"), new_user("eve")
    sent = await as_user(bob).send(alice, "secret")
    await as_user(alice).wait_for_count(1)
    query = "query($id: ID!) { message(id: $id) { id body senderId isRead } }"
    for reader in (alice, bob):
        found = (await as_user(reader).data(query, {"id": sent["id"]}))["message"]
        assert found == {"id": sent["id"], "body": "secret", "senderId": bob, "isRead": False}
    stranger = await as_user(eve).raw(query, {"id": sent["id"]})
    unknown = await as_user(eve).raw(query, {"id": "01JZZZZZZZZZZZZZZZZZZZZZZZ"})
    malformed = await as_user(eve).raw(query, {"id": "nope"})
    assert stranger == unknown == malformed == {"data": {"message": None}}


async def test_mark_read_and_mark_all_read(as_user: Client) -> None:
    alice, bob, eve = new_user("alice"), new_user("bob"), new_user("eve")
    as_alice = as_user(alice)
    sent = [await as_user(bob).send(alice, f"m{n}") for n in range(5)]
    eves = await as_user(bob).send(eve, "for eve")
    await as_alice.wait_for_count(5)
    await as_user(eve).wait_for_count(1)

    mark = (
        "mutation($ids: [ID!]!) "
        "{ markRead(ids: $ids) { unreadCount messages { id isRead readAt body } } }"
    )
    ids = [sent[0]["id"], sent[1]["id"], eves["id"], "01JZZZZZZZZZZZZZZZZZZZZZZZ", "junk"]
    first = (await as_alice.data(mark, {"ids": ids}))["markRead"]
    assert first["unreadCount"] == 3
    assert [m["id"] for m in first["messages"]] == [sent[0]["id"], sent[1]["id"]]
    assert all(m["isRead"] and m["readAt"] for m in first["messages"])
    assert first["messages"][0]["body"] == "m0"
    again = (await as_alice.data(mark, {"ids": ids}))["markRead"]
    assert again == first, "markRead is idempotent"
    assert await as_user(eve).unread_count() == 1, "eve's message is not alice's to mark"

    unread = await all_pages(as_alice, 100, unreadOnly=True)
    assert [m["id"] for m in unread[0]] == [m["id"] for m in reversed(sent[2:])]

    everything = (
        await as_alice.data("mutation { markAllRead { unreadCount messages { id isRead } } }")
    )["markAllRead"]
    assert everything["unreadCount"] == 0
    assert sorted(m["id"] for m in everything["messages"]) == sorted(m["id"] for m in sent[2:])
    assert await as_alice.unread_count() == 0
    assert (await all_pages(as_alice, 10, unreadOnly=True)) == [[]]


async def test_conversation_is_both_directions_newest_first(as_user: Client) -> None:
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    as_alice, as_bob = as_user(alice), as_user(bob)
    sent = []
    for n in range(6):
        sender, recipient = (as_alice, bob) if n % 2 else (as_bob, alice)
        sent.append(await sender.send(recipient, f"turn {n}"))
    await as_user(carol).send(alice, "not in the conversation")
    await as_alice.wait_for_count(4)
    await as_bob.wait_for_count(3)

    query = """query($with: ID!, $first: Int, $after: String) {
      conversation(withUserId: $with, first: $first, after: $after) {
        edges { node { id body senderId } } pageInfo { hasNextPage endCursor } } }"""
    first = (await as_alice.data(query, {"with": bob, "first": 4}))["conversation"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await as_alice.data(
            query, {"with": bob, "first": 4, "after": first["pageInfo"]["endCursor"]}
        )
    )["conversation"]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["pageInfo"]["endCursor"]}
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert ids == [m["id"] for m in reversed(sent)]
    from_bob = (await as_bob.data(query, {"with": alice, "first": 100}))["conversation"]
    assert [e["node"]["id"] for e in from_bob["edges"]] == ids


async def test_client_message_id_makes_send_idempotent(as_user: Client) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    as_bob = as_user(bob)
    first, second = await asyncio.gather(
        as_bob.send(alice, "once", "key-1"), as_bob.send(alice, "once", "key-1")
    )
    third = await as_bob.send(alice, "once", "key-1")
    assert first["id"] == second["id"] == third["id"]
    other = await as_bob.send(alice, "twice", "key-2")
    assert other["id"] != first["id"]
    await as_user(alice).wait_for_count(2)
    pages = await all_pages(as_user(alice), 100)
    assert [m["id"] for m in pages[0]] == [other["id"], first["id"]]
    code = await as_bob.error_code(
        'mutation { sendMessage(input: {recipientId: "x", body: "different", '
        'clientMessageId: "key-1"}) { id } }'
    )
    assert code == "BAD_USER_INPUT"


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"dynamodb": True, "sqs": True, "redis": True}
