"""markConversationRead and markUnread end to end on the local stack: their answers over plain
HTTP, the changes they log (`changes`) and push (`inboxEvents`, through npm's `graphql-ws`
client), the receipt a sender gets when its conversation is read, and the codes for bad input,
which store nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient
from tests.e2e.test_presence import PUSH_DEADLINE_SECONDS, RECEIPTS, receipts_are_live

Client = Callable[[str], GraphQLClient]
MARK_CONVERSATION_READ = """mutation($with: ID!) {
  markConversationRead(withUserId: $with) {
    unreadCount versionedUnreadCount { version } messages { id senderId isRead readAt }
  }
}"""
MARK_UNREAD = """mutation($ids: [ID!]!) {
  markUnread(ids: $ids) { unreadCount versionedUnreadCount { version } messages { id isRead } }
}"""
EVENT_FIELDS = """__typename version unreadCount
  ... on MessagesReadEvent { messageIds allBefore conversationId }
  ... on MessagesUnreadEvent { messageIds }"""
CHANGES = f"query($since: Int!) {{ changes(since: $since) {{ events {{ {EVENT_FIELDS} }} }} }}"
MARK_READ = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
CONVERSATIONS = "{ conversations { edges { node { id withUserId unreadCount } } } }"
VERSION = "{ versionedUnreadCount { count version } }"
LIVE_SECONDS = 20.0


async def conversations(client: GraphQLClient) -> dict[str, dict[str, Any]]:
    edges = (await client.data(CONVERSATIONS))["conversations"]["edges"]
    return {edge["node"]["withUserId"]: edge["node"] for edge in edges}


async def received(as_user: Client, sender: str, recipient: str, count: int) -> list[str]:
    """`count` messages from `sender`, oldest first, once `recipient` has them all."""
    before = await as_user(recipient).unread_count()
    ids = [(await as_user(sender).send(recipient, f"m{n}"))["id"] for n in range(count)]
    await as_user(recipient).wait_for_count(before + count)
    return ids


async def test_mark_conversation_read_then_mark_unread_over_http(as_user: Client) -> None:
    alice_id, bob_id, carol_id = new_user("alice"), new_user("bob"), new_user("carol")
    alice = as_user(alice_id)
    from_bob = await received(as_user, bob_id, alice_id, 3)
    (from_carol,) = await received(as_user, carol_id, alice_id, 1)

    read = (await alice.data(MARK_CONVERSATION_READ, {"with": bob_id}))["markConversationRead"]
    assert read["unreadCount"] == 1
    assert read["versionedUnreadCount"]["version"] == 5
    assert [m["id"] for m in read["messages"]] == from_bob[::-1]
    assert all(m["isRead"] and m["readAt"] and m["senderId"] == bob_id for m in read["messages"])
    # Nothing left unread there: the same count, nothing listed, the version stays.
    again = (await alice.data(MARK_CONVERSATION_READ, {"with": bob_id}))["markConversationRead"]
    assert (again["unreadCount"], again["messages"]) == (1, [])
    assert again["versionedUnreadCount"]["version"] == 5

    asked = [from_bob[1], from_carol, "not-an-id", from_bob[1]]
    unread = (await alice.data(MARK_UNREAD, {"ids": asked}))["markUnread"]
    assert unread["unreadCount"] == 2
    assert unread["messages"] == [
        {"id": from_bob[1], "isRead": False},
        {"id": from_carol, "isRead": False},
    ]
    assert unread["versionedUnreadCount"]["version"] == 6
    assert (await alice.data(MARK_UNREAD, {"ids": asked}))["markUnread"] == unread

    listed = await conversations(alice)
    assert {other: c["unreadCount"] for other, c in listed.items()} == {bob_id: 1, carol_id: 1}
    horizon, unmarked = (await alice.data(CHANGES, {"since": 4}))["changes"]["events"]
    assert horizon["__typename"] == "MessagesReadEvent"
    assert (horizon["version"], horizon["unreadCount"], horizon["messageIds"]) == (5, 1, [])
    assert horizon["allBefore"] is not None
    assert horizon["conversationId"] == listed[bob_id]["id"]
    assert unmarked == {
        "__typename": "MessagesUnreadEvent",
        "version": 6,
        "unreadCount": 2,
        "messageIds": [from_bob[1]],
    }


async def test_inbox_events_push_the_horizon_and_the_unread_mark(
    as_user: Client, subscribe: Any
) -> None:
    alice_id, bob_id = new_user("alice"), new_user("bob")
    alice = as_user(alice_id)
    from_bob = await received(as_user, bob_id, alice_id, 2)
    since = (await alice.data(VERSION))["versionedUnreadCount"]["version"]
    document = f"subscription {{ inboxEvents(sinceVersion: {since}) {{ {EVENT_FIELDS} }} }}"
    async with subscribe(alice_id, document) as events:
        await alice.data(MARK_CONVERSATION_READ, {"with": bob_id})
        await alice.data(MARK_UNREAD, {"ids": [from_bob[0]]})
        # Whether replayed from the log or pushed live: both, in order, strictly +1.
        horizon = (await events.next(LIVE_SECONDS))["inboxEvents"]
        unmarked = (await events.next(LIVE_SECONDS))["inboxEvents"]
    assert horizon["__typename"] == "MessagesReadEvent"
    assert (horizon["version"], horizon["unreadCount"], horizon["messageIds"]) == (3, 0, [])
    assert horizon["allBefore"] is not None
    assert horizon["conversationId"] == (await conversations(alice))[bob_id]["id"]
    assert unmarked == {
        "__typename": "MessagesUnreadEvent",
        "version": 4,
        "unreadCount": 1,
        "messageIds": [from_bob[0]],
    }


async def test_the_sender_gets_a_receipt_when_its_conversation_is_read(
    as_user: Client, subscribe: Any
) -> None:
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    async with subscribe(alice, RECEIPTS) as alices:
        await receipts_are_live(alices, as_user, alice)
        from_alice = await received(as_user, alice, bob, 2)
        await received(as_user, carol, bob, 1)
        await as_user(bob).data(MARK_CONVERSATION_READ, {"with": alice})
        receipt = (await alices.next(PUSH_DEADLINE_SECONDS * 5))["readReceipts"]
    assert receipt["readerId"] == bob
    assert receipt["messageIds"] == from_alice[::-1]
    assert receipt["upTo"] == from_alice[-1]
    assert receipt["conversationId"] == (await conversations(as_user(bob)))[alice]["id"]


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 200])
async def test_a_bad_with_user_id_is_bad_user_input_and_changes_nothing(
    as_user: Client, bad: str
) -> None:
    alice_id = new_user("alice")
    alice = as_user(alice_id)
    await received(as_user, new_user("bob"), alice_id, 1)
    before = await alice.data(VERSION)
    assert await alice.error_code(MARK_CONVERSATION_READ, {"with": bad}) == "BAD_USER_INPUT"
    assert await alice.data(VERSION) == before


async def test_more_than_100_ids_to_mark_unread_is_bad_user_input_and_changes_nothing(
    as_user: Client,
) -> None:
    alice_id = new_user("alice")
    alice = as_user(alice_id)
    (sent,) = await received(as_user, new_user("bob"), alice_id, 1)
    await alice.data(
        "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }", {"ids": [sent]}
    )
    before = await alice.data(VERSION)
    code = await alice.error_code(MARK_UNREAD, {"ids": [sent] * 101})
    assert code == "BAD_USER_INPUT"
    assert await alice.data(VERSION) == before
    # 100 is allowed, and the repeats count once.
    assert (await alice.data(MARK_UNREAD, {"ids": [sent] * 100}))["markUnread"]["unreadCount"] == 1
