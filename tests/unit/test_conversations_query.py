"""`conversations` over HTTP on the in-memory fakes (with the response cache on, as served):
the list, its read states for both participants, its paging and cursors, its refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schema import build_schema
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.cursor import encode_cursor
from services.domain import Message, UserId, conversation_id
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BOB, CAROL, make_message
from tests.unit.test_response_cache_http import SECRET, with_state

LIST = """query($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { cursor node { id withUserId unreadCount updatedAt
                          lastMessage { id senderId recipientId body isRead sentAt } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def deliver(store: FakeMessageStore, sent: Message) -> None:
    """The store's part of a delivery, as the worker does it."""
    await store.deliver(sent)
    await store.touch_sender_summary(sent)


class Served:
    def __init__(self, http: httpx.AsyncClient, store: FakeMessageStore) -> None:
        self.http = http
        self.store = store

    async def post(self, user: UserId, query: str, **variables: Any) -> dict[str, Any]:
        token = HmacTokenVerifier(SECRET).issue(user)
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        return body

    async def conversations(self, user: UserId, **variables: Any) -> dict[str, Any]:
        body = await self.post(user, LIST, **variables)
        assert "errors" not in body, body
        listed: dict[str, Any] = body["data"]["conversations"]
        return listed

    async def refusal(self, user: UserId, **variables: Any) -> tuple[str, str]:
        body = await self.post(user, LIST, **variables)
        [error] = body["errors"]
        return error["extensions"]["code"], error["message"]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    settings = Settings(stack="external", jwt_secret=SECRET)
    store = FakeMessageStore()
    cache = InboxResponseCache.configured(settings)
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=cache)
    async with in_memory_app(settings, store=store) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Served(http, store)


async def test_the_list_newest_first_with_counts_and_both_sides_read_state(
    served: Served,
) -> None:
    store = served.store
    hi, reply = make_message(BOB, ALICE, 1, "hi"), make_message(ALICE, BOB, 2, "hi bob")
    from_carol = [make_message(CAROL, ALICE, n, "news") for n in (3, 4)]
    for message in [hi, reply, *from_carol]:
        await deliver(store, message)

    listed = await served.conversations(ALICE)
    nodes = [edge["node"] for edge in listed["edges"]]
    assert [node["withUserId"] for node in nodes] == [CAROL, BOB]
    assert [node["unreadCount"] for node in nodes] == [2, 1]
    assert nodes[0]["id"] == conversation_id(ALICE, CAROL)
    assert nodes[1]["lastMessage"] == {
        "id": reply.id,
        "senderId": ALICE,
        "recipientId": BOB,
        "body": "hi bob 2",
        "isRead": False,
        "sentAt": "2026-01-01T12:00:00.002000+00:00",
    }
    assert nodes[1]["updatedAt"] == nodes[1]["lastMessage"]["sentAt"]
    assert listed["pageInfo"]["hasNextPage"] is False

    # Bob reads the reply: Alice's list shows her last message read, as Bob's does.
    await store.mark_read(BOB, [reply.id], make_message(BOB, BOB, 9).sent_at)
    [bobs] = [edge["node"] for edge in (await served.conversations(BOB))["edges"]]
    assert bobs["id"] == nodes[1]["id"]
    assert (bobs["withUserId"], bobs["unreadCount"]) == (ALICE, 0)
    assert bobs["lastMessage"]["isRead"] is True
    alices = (await served.conversations(ALICE))["edges"][1]["node"]
    assert alices["lastMessage"]["isRead"] is True


async def test_a_reply_moves_the_senders_list_though_the_senders_version_stays(
    served: Served,
) -> None:
    await deliver(served.store, make_message(BOB, ALICE, 1))
    await deliver(served.store, make_message(CAROL, ALICE, 2))
    before = await served.conversations(ALICE)
    assert [e["node"]["withUserId"] for e in before["edges"]] == [CAROL, BOB]
    version = (await served.store.unread_count(ALICE)).version
    await deliver(served.store, make_message(ALICE, BOB, 3))
    assert (await served.store.unread_count(ALICE)).version == version
    # Not an answer kept under Alice's unchanged version: the list is read again.
    after = await served.conversations(ALICE)
    assert [e["node"]["withUserId"] for e in after["edges"]] == [BOB, CAROL]


async def test_pages_walk_every_conversation_once(served: Served) -> None:
    others = [UserId(f"user{i}") for i in range(5)]
    for n, other in enumerate(others):
        await deliver(served.store, make_message(other, ALICE, n))
    seen: list[str] = []
    after = None
    while True:
        page = await served.conversations(ALICE, first=2, after=after)
        seen.extend(edge["node"]["withUserId"] for edge in page["edges"])
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(others))


async def test_a_note_to_self_is_a_conversation_with_oneself(served: Served) -> None:
    await deliver(served.store, make_message(ALICE, ALICE, 1, "remember"))
    [edge] = (await served.conversations(ALICE))["edges"]
    assert edge["node"]["withUserId"] == ALICE
    assert edge["node"]["id"] == conversation_id(ALICE, ALICE)
    assert edge["node"]["unreadCount"] == 1


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"first": 0}, "`first` must be between 1 and 100"),
        ({"first": 101}, "`first` must be between 1 and 100"),
        ({"after": "not a cursor!"}, "`after` is not a valid cursor"),
        # A cursor of the inbox is not one of this list.
        ({"after": encode_cursor(make_message(BOB, ALICE, 1).id)}, "`after` is not a valid cursor"),
    ],
)
async def test_bad_arguments_are_refused(
    served: Served, variables: dict[str, Any], expected: str
) -> None:
    assert await served.refusal(ALICE, **variables) == ("BAD_USER_INPUT", expected)
    assert served.store.calls["list_conversations"] == 0


async def test_read_states_are_read_only_when_asked_for_one_batch_per_recipient(
    served: Served,
) -> None:
    store = served.store
    for n, other in enumerate([BOB, CAROL, UserId("dave")]):
        await deliver(store, make_message(other, ALICE, n))
    await deliver(store, make_message(ALICE, BOB, 10))
    without = "{ conversations { edges { node { unreadCount lastMessage { id body } } } } }"
    assert "errors" not in await served.post(ALICE, without)
    assert store.calls["get_entries"] == 0
    # Through a fragment too: Alice's two received last messages are one read of her inbox,
    # the one she sent a read of Bob's.
    asked = (
        "{ conversations { edges { node { lastMessage { ...State } } } } } "
        "fragment State on Message { isRead }"
    )
    body = await served.post(ALICE, asked)
    states = [e["node"]["lastMessage"]["isRead"] for e in body["data"]["conversations"]["edges"]]
    assert states == [False, False, False]
    assert store.calls["get_entries"] == 2
