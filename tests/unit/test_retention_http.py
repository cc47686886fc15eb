"""Retention through GraphQL over HTTP on the fakes: no expired message in `message` or
`messages`, the conversation list's `lastMessage` and cursors, and the response cache's kept
answers (docs/retention.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from schema import build_schema
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.cursor import encode_conversation_cursor
from services.retention import Retention
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeClock, FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BOB, CAROL, make_message
from tests.unit.test_response_cache_http import SECRET, with_state

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


# --- through GraphQL --------------------------------------------------------------------------

QUERY = """query($after: String, $gone: ID!) {
  conversations(first: 1, after: $after) {
    edges { cursor node { withUserId updatedAt lastMessage { id body } } }
    pageInfo { hasNextPage endCursor }
  }
  messages(first: 10) { edges { node { id } } }
  gone: message(id: $gone) { id }
}"""


async def test_graphql_shows_no_expired_message_and_keeps_the_lists_cursors(
    clock: FakeClock,
) -> None:
    settings = Settings(stack="external", jwt_secret=SECRET, retention_days=1)
    store = FakeMessageStore()
    store.now, store.retention = clock, Retention(1)
    kept, carols, newer = (
        make_message(BOB, ALICE, 0),
        make_message(CAROL, ALICE, 3),
        make_message(BOB, ALICE, 5),
    )
    for message in (kept, carols, newer):
        await store.deliver(message)
        await store.touch_sender_summary(message)
    await store.mark_read(ALICE, [newer.id], clock.now)
    clock.advance(2 * DAY)
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=None)
    async with in_memory_app(settings, store=store, clock=clock) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            token = HmacTokenVerifier(SECRET).issue(ALICE)

            async def ask(after: str | None) -> dict[str, Any]:
                response = await http.post(
                    "/graphql",
                    json={"query": QUERY, "variables": {"after": after, "gone": newer.id}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body: dict[str, Any] = response.json()
                assert "errors" not in body, body
                data: dict[str, Any] = body["data"]
                return data

            first = await ask(None)
            (edge,) = first["conversations"]["edges"]
            assert edge["cursor"] == encode_conversation_cursor(newer.id)
            assert edge["node"]["lastMessage"] == {"id": kept.id, "body": kept.body}
            assert edge["node"]["updatedAt"] == kept.sent_at.isoformat()
            assert first["conversations"]["pageInfo"]["endCursor"] == edge["cursor"]
            assert first["gone"] is None
            listed = [e["node"]["id"] for e in first["messages"]["edges"]]
            assert listed == [carols.id, kept.id]

            second = await ask(edge["cursor"])
            assert [e["node"]["withUserId"] for e in second["conversations"]["edges"]] == [CAROL]


async def test_a_kept_inbox_answer_is_not_served_past_an_expiry(clock: FakeClock) -> None:
    settings = Settings(stack="external", jwt_secret=SECRET, retention_days=1)
    store = FakeMessageStore()
    store.now, store.retention = clock, Retention(1)
    read, unread = make_message(BOB, ALICE, 1), make_message(BOB, ALICE, 2)
    for message in (read, unread):
        await store.deliver(message)
    await store.mark_read(ALICE, [read.id], clock.now)

    def seconds() -> float:
        return clock.now.timestamp()

    cache = InboxResponseCache(
        1 << 20, max_user_bytes=1 << 20, max_answer_bytes=1 << 20, clock=seconds
    )
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=cache)
    query = "{ messages(first: 10) { edges { node { id } } } }"
    async with in_memory_app(settings, store=store, clock=clock) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            token = HmacTokenVerifier(SECRET).issue(ALICE)

            async def listed() -> list[str]:
                response = await http.post(
                    "/graphql",
                    json={"query": query},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return [e["node"]["id"] for e in response.json()["data"]["messages"]["edges"]]

            assert await listed() == [unread.id, read.id]
            listings = store.calls["list_inbox"]
            assert await listed() == [unread.id, read.id]
            assert store.calls["list_inbox"] == listings  # kept: the version has not moved
            clock.advance(DAY + SECOND)
            # Nor has it now, but the read message has expired: executed again.
            assert await listed() == [unread.id]
            assert store.calls["list_inbox"] == listings + 1
