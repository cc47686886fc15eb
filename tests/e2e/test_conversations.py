"""`conversations` through plain HTTP against a server process on the local stack: sends go
through SQS and the worker, the list comes from the `activity` index, and the counts add up
to `unreadCount`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import new_user
from tests.e2e.conftest import DELIVERY_DEADLINE_SECONDS, GraphQLClient
from tests.polling import eventually

Client = Callable[[str], GraphQLClient]

LIST = """query($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { cursor node { id withUserId unreadCount updatedAt lastMessage { id body isRead } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def conversations(client: GraphQLClient, **variables: Any) -> Any:
    return (await client.data(LIST, variables))["conversations"]


async def settled(client: GraphQLClient, expected: list[tuple[str, str, int]]) -> Any:
    """Waits until the list is (withUserId, lastMessage body, unreadCount) in this order."""
    last: list[tuple[str, str, int]] = []

    async def check() -> bool:
        nonlocal last
        edges = (await conversations(client))["edges"]
        last = [
            (e["node"]["withUserId"], e["node"]["lastMessage"]["body"], e["node"]["unreadCount"])
            for e in edges
        ]
        return last == expected

    await eventually(
        check, lambda: f"conversations {expected}, last {last}", timeout=DELIVERY_DEADLINE_SECONDS
    )
    return await conversations(client)


async def test_the_conversation_list_end_to_end(as_user: Client) -> None:
    alice_id, bob_id, carol_id = new_user("alice"), new_user("bob"), new_user("carol")
    alice, bob, carol = as_user(alice_id), as_user(bob_id), as_user(carol_id)
    await bob.send(alice_id, "hi alice")
    await carol.send(alice_id, "one")
    await carol.send(alice_id, "two")
    await alice.wait_for_count(3)
    listed = await settled(alice, [(carol_id, "two", 2), (bob_id, "hi alice", 1)])
    assert sum(e["node"]["unreadCount"] for e in listed["edges"]) == await alice.unread_count()

    # Alice replies to Bob: the conversation moves to the top for her, and for Bob.
    reply = await alice.send(bob_id, "hi bob")
    await settled(alice, [(bob_id, "hi bob", 1), (carol_id, "two", 2)])
    [bobs] = (await settled(bob, [(alice_id, "hi bob", 1)]))["edges"]
    assert bobs["node"]["id"] == (await conversations(alice))["edges"][0]["node"]["id"]

    # Bob reads it: Alice's last message shows read; Bob's count drops.
    await bob.data(
        "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }", {"ids": [reply["id"]]}
    )
    [bobs] = (await settled(bob, [(alice_id, "hi bob", 0)]))["edges"]
    assert bobs["node"]["lastMessage"]["isRead"] is True
    assert (await conversations(alice))["edges"][0]["node"]["lastMessage"]["isRead"] is True

    page = await conversations(alice, first=1)
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await conversations(alice, first=1, after=page["pageInfo"]["endCursor"])
    assert [e["node"]["withUserId"] for e in rest["edges"]] == [carol_id]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert await alice.error_code(LIST, {"first": 101}) == "BAD_USER_INPUT"
    assert await alice.error_code(LIST, {"after": "garbage"}) == "BAD_USER_INPUT"
