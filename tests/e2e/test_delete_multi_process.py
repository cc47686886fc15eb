"""deleteMessage across processes: two API processes and a separate worker on their own table
and queues, sharing Redis. After the sender deletes through A a message that both users had read
through both processes (so its body is in the shared cache, and B holds answers in its response
cache), no process serves the body again: `message(id)`, the conversation view, the inbox, the
conversation list and `changes` all show it gone, or (in the log only) deleted and empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient
from tests.e2e.fleet import Fleet, as_user, clients, counts_reach, eventually, running_fleet, send

MESSAGE = "query($id: ID!) { message(id: $id) { id body } }"
CONVERSATION = (
    "query($with: ID!) { conversation(withUserId: $with, first: 20) "
    "{ edges { node { id body } } } }"
)
INBOX = "{ messages(first: 20) { edges { node { id body } } } }"
LIST = "{ conversations(first: 20) { edges { node { withUserId lastMessage { id body } } } } }"
CHANGES = (
    "query { changes(since: 0) { version events { __typename version unreadCount "
    "... on MessageReceivedEvent { message { id body deletedAt } } "
    "... on MessageDeletedEvent { messageId } } } }"
)
DELETE = "mutation($id: ID!) { deleteMessage(id: $id) { deleted } }"


@pytest.fixture(scope="module")
def fleet(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    roles = {"A": True, "B": True, "worker": False}
    with running_fleet(
        stack, tmp_path_factory.mktemp("delete-multi-process"), "delete", roles
    ) as fleet:
        yield fleet


async def bodies_seen(client: GraphQLClient, peer: str, message_id: str) -> list[str]:
    """Every body of `message_id` that any read of `client` shows (the log aside)."""
    found: list[str] = []
    single = (await client.data(MESSAGE, {"id": message_id}))["message"]
    if single is not None:
        found.append(single["body"])
    pages: list[Any] = [
        (await client.data(CONVERSATION, {"with": peer}))["conversation"],
        (await client.data(INBOX))["messages"],
    ]
    found += [
        e["node"]["body"] for page in pages for e in page["edges"] if e["node"]["id"] == message_id
    ]
    for edge in (await client.data(LIST))["conversations"]["edges"]:
        last = edge["node"]["lastMessage"]
        if last["id"] == message_id:
            found.append(last["body"])
    return found


async def test_no_process_serves_a_deleted_body(fleet: Fleet) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    async with clients(fleet) as http:
        alice_on = {role: as_user(fleet, http[role], alice) for role in ("A", "B")}
        bob_on = {role: as_user(fleet, http[role], bob) for role in ("A", "B")}
        kept = await send(alice_on["A"], bob, "kept")
        secret = await send(alice_on["A"], bob, "secret")
        await counts_reach(2, *bob_on.values())

        async def views() -> list[list[str]]:
            """What each user sees of the secret through each process."""
            viewers = [(bob_on[r], alice) for r in ("A", "B")]
            viewers += [(alice_on[r], bob) for r in ("A", "B")]
            return [await bodies_seen(client, peer, secret["id"]) for client, peer in viewers]

        async def everyone_sees_it() -> bool:
            return all("secret" in bodies for bodies in await views())

        # Read through both processes until every view shows it (the indexes lag): the body
        # is cached, and B keeps bob's inbox answer at his current version.
        await eventually(everyone_sees_it, "the message in every view on both processes")
        await bob_on["B"].data(CHANGES)

        assert await alice_on["A"].data(DELETE, {"id": secret["id"]}) == {
            "deleteMessage": {"deleted": True}
        }
        # At once, on the other process, for both users.
        for client in (bob_on["B"], alice_on["B"]):
            assert (await client.data(MESSAGE, {"id": secret["id"]}))["message"] is None
        assert await bob_on["B"].unread_count() == 1

        async def nobody_sees_it() -> bool:
            return all(bodies == [] for bodies in await views())

        await eventually(nobody_sees_it, "the deleted message gone from every view")
        # The log keeps the arrival, empty and marked, and records the deletion.
        for client in bob_on.values():
            events = (await client.data(CHANGES))["changes"]["events"]
            assert [e["__typename"] for e in events] == [
                "MessageReceivedEvent",
                "MessageReceivedEvent",
                "MessageDeletedEvent",
            ], events
            assert events[0]["message"] == {"id": kept["id"], "body": "kept", "deletedAt": None}
            deleted = events[1]["message"]
            assert (deleted["id"], deleted["body"]) == (secret["id"], "")
            assert deleted["deletedAt"] is not None
            assert (events[2]["messageId"], events[2]["unreadCount"]) == (secret["id"], 1)
        # The recipient and a second call cannot.
        for client in (bob_on["B"], alice_on["B"]):
            refused = await client.data(DELETE, {"id": secret["id"]})
            assert refused == {"deleteMessage": {"deleted": False}}
